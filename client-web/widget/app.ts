/**
 * The beneficiary's widget: one page, screens built once and updated in place (so that typed
 * text and focus survive every live update). Every screen has the quick-exit button first in
 * the tab order; Shift pressed three times anywhere does the same. Nothing is written to any
 * storage; quick exit wipes the session and the page, then leaves.
 */
import type { BeneficiaryOptions, BeneficiarySession, ChatMessage, SessionEvent } from '../common/session/beneficiary.js';
import { formatWait, formatWhen, t, type Lang, type StringKey } from '../common/i18n/strings.js';
import type { Message } from '../common/protocol/messages.js';
import type { WidgetConfig } from './config.js';
import { h, replace } from './dom.js';
import type { FeedbackRating } from '../common/session/sealed_content.js';
import {
  feedbackChoices, feedbackMaxChars, feedbackToSend, inboxMaxChars, joinRefusalOffersInbox, prefillFromWaiting, sealFailureKey,
  statusActions, waitingOfferKey,
} from './inbox.js';
import { prechatSummary, validPhone, type HelpMode } from './prechat.js';
import { ShiftTripleDetector } from './shift_exit.js';

type SessionModule = typeof import('./session_boot.js');

/** How the page boots. */
export interface AppEnvironment {
  /** `wss://host/ws` of the server that served this page. */
  readonly url: string;
  readonly loadSession: () => Promise<SessionModule>;
}

type ScreenName = 'connecting' | 'status' | 'prechat' | 'waiting' | 'chat' | 'ended' | 'resume' | 'inbox' | 'pending' | 'blocked';

interface Screen {
  readonly name: ScreenName;
  readonly el: HTMLElement;
  /** Called after every change of the session. */
  update(): void;
}

const exitChannelName = 'relais-widget-exit';

/** The widget application. */
export class WidgetApp {
  private readonly root_: HTMLElement;
  private readonly config_: WidgetConfig;
  private readonly env_: AppEnvironment;
  private lang_: Lang;
  private session_: BeneficiarySession | null = null;
  private module_: SessionModule | null = null;
  private screen_: Screen | null = null;
  private readonly main_: HTMLElement;
  private readonly banner_: HTMLElement;
  private readonly live_: HTMLElement;
  private readonly header_: HTMLElement;
  private readonly detector_ = new ShiftTripleDetector();
  private channel_: BroadcastChannel | null = null;
  private large_ = false;
  private contrast_ = false;
  private exited_ = false;
  private bannerTimer_: ReturnType<typeof setInterval> | null = null;
  private lastAnnounced_ = '';

  constructor(root: HTMLElement, config: WidgetConfig, env: AppEnvironment) {
    this.root_ = root;
    this.config_ = config;
    this.env_ = env;
    this.lang_ = config.lang;
    this.header_ = h('header', { class: 'bar' });
    this.banner_ = h('div', { class: 'banner', role: 'status', 'aria-live': 'polite', hidden: true });
    this.live_ = h('div', { class: 'visually-hidden', 'aria-live': 'polite', 'aria-atomic': 'true' });
    this.main_ = h('main', { class: 'main', id: 'main' });
  }

  /** Renders the shell and connects. */
  start(): void {
    document.documentElement.lang = this.lang_;
    replace(this.root_, this.header_, this.banner_, this.main_, this.live_, h('footer', { class: 'notice' }, h('p', { text: t(this.lang_, 'safety.notice') })));
    this.renderHeader();
    document.addEventListener('keydown', (e) => {
      if (this.detector_.keydown(e.key, e.repeat, e.timeStamp)) this.quickExit();
    }, true);
    if (typeof BroadcastChannel === 'function') {
      this.channel_ = new BroadcastChannel(exitChannelName);
      this.channel_.onmessage = () => this.quickExit(false);
    }
    this.show(this.connectingScreen());
    void this.boot();
  }

  // ------------------------------------------------------------------ safety

  /** Quick exit: leave first (within 300 ms), wipe, tell the other tabs. */
  quickExit(broadcast = true): void {
    if (this.exited_) return;
    this.exited_ = true;
    if (this.config_.host && window.parent !== window) {
      window.parent.postMessage({ relais: 'exit' }, this.config_.host);
    } else {
      location.replace(this.config_.exit);
    }
    if (broadcast) this.channel_?.postMessage('exit');
    this.session_?.wipe();
    this.session_ = null;
    this.screen_ = null;
    if (this.bannerTimer_) clearInterval(this.bannerTimer_);
    this.root_.replaceChildren();
    document.title = '';
  }

  private renderHeader(): void {
    const L = this.lang_;
    const exit = h('button', { type: 'button', class: 'exit', onclick: () => this.quickExit() }, t(L, 'exit.button'));
    const large = h('button', {
      type: 'button', class: 'toggle', 'aria-pressed': String(this.large_),
      onclick: () => { this.large_ = !this.large_; this.applyDisplay(); this.renderHeader(); },
    }, t(L, 'settings.large_text'));
    const contrast = h('button', {
      type: 'button', class: 'toggle', 'aria-pressed': String(this.contrast_),
      onclick: () => { this.contrast_ = !this.contrast_; this.applyDisplay(); this.renderHeader(); },
    }, t(L, 'settings.high_contrast'));
    const language = h('button', {
      type: 'button', class: 'toggle', lang: L === 'fr' ? 'en' : 'fr', 'aria-label': t(L, 'settings.language_label'),
      onclick: () => this.switchLanguage(),
    }, t(L, 'settings.language'));
    const close = this.config_.host && window.parent !== window
      ? h('button', { type: 'button', class: 'toggle', onclick: () => window.parent.postMessage({ relais: 'close' }, this.config_.host!) }, t(L, 'close.button'))
      : null;
    replace(this.header_, exit, h('p', { class: 'hint', text: t(L, 'exit.hint') }), h('div', { class: 'settings' }, large, contrast, language, close));
  }

  private applyDisplay(): void {
    document.documentElement.classList.toggle('large', this.large_);
    document.documentElement.classList.toggle('contrast', this.contrast_);
  }

  private switchLanguage(): void {
    this.lang_ = this.lang_ === 'fr' ? 'en' : 'fr';
    document.documentElement.lang = this.lang_;
    this.renderHeader();
    const footer = this.root_.querySelector('footer');
    if (footer) replace(footer, h('p', { text: t(this.lang_, 'safety.notice') }));
    // Screens are rebuilt in the new language; what the person typed is carried over.
    const typed = [...this.main_.querySelectorAll('textarea, input[type=text], input[type=tel]')].map((e) => (e as HTMLInputElement).value);
    if (this.screen_) this.show(this.build(this.screen_.name), false);
    [...this.main_.querySelectorAll('textarea, input[type=text], input[type=tel]')].forEach((e, i) => {
      if (typed[i] !== undefined) (e as HTMLInputElement).value = typed[i]!;
    });
    this.updateBanner();
  }

  // ------------------------------------------------------------------ session

  private options(): BeneficiaryOptions {
    return { url: this.env_.url, orgFingerprint: this.config_.org, client: 'relais-widget/0.1.0' };
  }

  private async boot(): Promise<void> {
    try {
      this.module_ = await this.env_.loadSession();
      if (this.exited_) return;
      this.attach(await this.module_.createSession(this.options()));
    } catch {
      this.setBanner(t(this.lang_, 'conn.unreachable'), true);
    }
  }

  private attach(session: BeneficiarySession): void {
    this.session_ = session;
    session.onEvent((e) => this.onEvent(e));
    session.onChange(() => this.screen_?.update());
    session.start();
  }

  private onEvent(e: SessionEvent): void {
    const L = this.lang_;
    switch (e.kind) {
      case 'transport':
        this.retryMs_ = e.info.retryInMs;
        this.updateBanner();
        return;
      case 'status':
      case 'status_unavailable':
        if (this.screen_?.name === 'connecting') this.show(this.statusScreen());
        return;
      case 'queue':
        this.announce(e.position.position === 1 ? t(L, 'waiting.position_first') : t(L, 'waiting.position', { n: e.position.position }));
        return;
      case 'opened':
        this.show(this.chatScreen());
        return;
      case 'secured':
        this.announce(t(L, 'chat.joined', { name: e.worker.name }));
        return;
      case 'untrusted':
        this.show(this.blockedScreen());
        return;
      case 'transferred':
        this.announce(t(L, 'chat.transferred', { name: e.name }));
        return;
      case 'ended':
        // Shown once per conversation: what the person chose or typed there is never reset.
        if (this.screen_?.name !== 'ended') this.show(this.endedScreen());
        return;
      case 'queue_timeout':
        if (this.screen_?.name === 'waiting') this.screen_.update();
        return;
      case 'inbox_offer':
        if (this.screen_?.name === 'waiting') this.screen_.update();
        return;
      case 'send_failed':
        this.setBanner(t(L, 'chat.rejected'), false);
        return;
      case 'undecryptable':
        this.announce(t(L, 'chat.undecryptable'));
        return;
    }
  }

  private updateBanner(): void {
    const s = this.session_;
    if (this.bannerTimer_) clearInterval(this.bannerTimer_);
    this.bannerTimer_ = null;
    if (!s) return;
    const L = this.lang_;
    const state = s.transportState;
    if (state === 'waiting_retry') {
      const until = Date.now() + (this.lastRetryMs() ?? 0);
      const render = () => {
        const secs = Math.max(0, Math.ceil((until - Date.now()) / 1000));
        this.setBanner(secs > 0 ? t(L, 'conn.lost', { s: secs }) : t(L, 'conn.lost_now'), true);
      };
      render();
      this.bannerTimer_ = setInterval(render, 1000);
    } else if (state === 'stopped') {
      this.setBanner(t(L, 'conn.stopped'), true);
    } else {
      this.setBanner('', false);
    }
  }

  private retryMs_: number | undefined;
  private lastRetryMs(): number | undefined {
    return this.retryMs_;
  }

  private setBanner(textValue: string, retry: boolean): void {
    if (!textValue) {
      this.banner_.hidden = true;
      this.banner_.replaceChildren();
      return;
    }
    this.banner_.hidden = false;
    const button = retry && this.session_
      ? h('button', { type: 'button', onclick: () => this.session_?.retryNow() }, t(this.lang_, 'retry.button'))
      : null;
    // Keep the button (and its focus) when only the countdown changes.
    const p = this.banner_.querySelector('p');
    if (p && this.banner_.querySelector('button') && button) {
      p.textContent = textValue;
      return;
    }
    replace(this.banner_, h('p', { text: textValue }), button);
  }

  private announce(textValue: string): void {
    if (textValue === this.lastAnnounced_) return;
    this.lastAnnounced_ = textValue;
    this.live_.textContent = textValue;
  }

  // ------------------------------------------------------------------ screens

  private show(screen: Screen, focus = true): void {
    this.screen_ = screen;
    replace(this.main_, screen.el);
    screen.update();
    if (focus) {
      const heading = screen.el.querySelector<HTMLElement>('h1');
      heading?.focus();
    }
  }

  private build(name: ScreenName): Screen {
    switch (name) {
      case 'connecting': return this.connectingScreen();
      case 'status': return this.statusScreen();
      case 'prechat': return this.prechatScreen();
      case 'waiting': return this.waitingScreen();
      case 'chat': return this.chatScreen();
      case 'ended': return this.endedScreen();
      case 'resume': return this.resumeScreen();
      case 'inbox': return this.inboxScreen();
      case 'pending': return this.pendingScreen();
      case 'blocked': return this.blockedScreen();
    }
  }

  private heading(key: StringKey, params: Record<string, string> = {}): HTMLHeadingElement {
    return h('h1', { tabindex: '-1', text: t(this.lang_, key, params) });
  }

  private connectingScreen(): Screen {
    const el = h('section', { class: 'screen' }, this.heading('app.title'), h('p', { text: t(this.lang_, 'conn.connecting') }));
    return { name: 'connecting', el, update: () => undefined };
  }

  private emergencyBlock(status: Message<'permanence.status'> | null): HTMLElement | null {
    if (!status || status.emergency_numbers.length === 0) return null;
    const L = this.lang_;
    return h('section', { class: 'emergency', 'aria-labelledby': 'emergency-h' },
      h('h2', { id: 'emergency-h', text: t(L, 'emergency.heading') }),
      h('ul', {}, ...status.emergency_numbers.map((n) =>
        h('li', {},
          h('a', { class: 'tel', href: `${n.sms ? 'sms' : 'tel'}:${n.number.replace(/[^0-9+]/g, '')}` },
            h('span', { class: 'number', text: n.number }), ' ',
            h('span', { text: L === 'fr' ? n.label_fr : n.label_en }),
            n.sms ? h('span', { text: ` ${t(L, 'emergency.sms')}` }) : null)))));
  }

  private statusScreen(): Screen {
    const L = this.lang_;
    // The buttons are made once and only shown or hidden: a status push (at most one a second)
    // never replaces the button the person is about to press. The lines and numbers are
    // rebuilt only when what they say changes.
    const lines = h('div');
    const start = h('button', { type: 'button', class: 'primary', onclick: () => this.show(this.prechatScreen()) }, t(L, 'status.start'));
    const leave = h('button', { type: 'button', class: 'primary', onclick: () => this.show(this.inboxScreen()) }, t(L, 'status.leave_message'));
    const resume = h('button', { type: 'button', onclick: () => this.show(this.resumeScreen()) }, t(L, 'status.resume'));
    const emergency = h('div');
    const el = h('section', { class: 'screen' }, this.heading('status.heading'), lines,
      h('div', { class: 'actions' }, start, leave, resume), emergency);
    let shown = '';
    const update = () => {
      const s = this.session_?.permanence ?? null;
      const can = statusActions(s);
      start.hidden = !can.start;
      leave.hidden = !can.leaveMessage;
      const texts: string[] = [];
      if (!s) {
        // No status from the server: offer to start; joining says if it is closed.
        texts.push(t(L, 'status.unknown'));
      } else {
        texts.push(t(L, s.availability === 'available' ? 'status.open' : s.availability === 'busy' ? 'status.busy' : 'status.closed'));
        if (s.open && s.estimated_wait_s !== undefined) texts.push(t(L, 'status.wait', { wait: formatWait(L, s.estimated_wait_s) }));
        if (!s.open && s.next_opening_at !== undefined) texts.push(t(L, 'status.next_opening', { when: formatWhen(L, s.next_opening_at) }));
        if (s.open && !s.queue_open) texts.push(t(L, 'status.queue_full'));
      }
      const now = JSON.stringify([s?.availability, texts, s?.emergency_numbers]);
      if (now === shown) return;
      shown = now;
      replace(lines, ...texts.map((x, i) => h('p', i === 0 && s ? { class: `availability ${s.availability}`, text: x } : { text: x })));
      replace(emergency, this.emergencyBlock(s));
    };
    return { name: 'status', el, update };
  }

  private prechatScreen(): Screen {
    const L = this.lang_;
    const name = h('input', { type: 'text', id: 'pc-name', autocomplete: 'off', maxlength: '64', 'aria-describedby': 'pc-name-hint' });
    const radio = (group: string, value: string, label: StringKey, checked = false) => {
      const id = `pc-${group}-${value}`;
      return h('div', { class: 'choice' },
        h('input', { type: 'radio', name: group, id, value, checked }),
        h('label', { for: id, text: t(L, label) }));
    };
    const phone = h('input', { type: 'tel', id: 'pc-phone', autocomplete: 'off', inputmode: 'tel', 'aria-describedby': 'pc-phone-hint' });
    const phoneError = h('p', { class: 'error', id: 'pc-phone-error', role: 'alert', hidden: true, text: t(L, 'prechat.phone_invalid') });
    const phoneBox = h('div', { class: 'field', hidden: true },
      h('label', { for: 'pc-phone', text: t(L, 'prechat.phone') }), phone,
      h('p', { class: 'hint', id: 'pc-phone-hint', text: t(L, 'prechat.phone_hint') }), phoneError);
    const error = h('p', { class: 'error', role: 'alert', hidden: true });
    const toInbox = h('button', { type: 'button', hidden: true, onclick: () => this.show(this.inboxScreen()) }, t(L, 'status.leave_message'));
    const submit = h('button', { type: 'submit', class: 'primary' }, t(L, 'prechat.submit'));
    const form = h('form', { novalidate: true },
      h('p', { text: t(L, 'prechat.intro') }),
      h('div', { class: 'field' }, h('label', { for: 'pc-name', text: t(L, 'prechat.name') }), name,
        h('p', { class: 'hint', id: 'pc-name-hint', text: t(L, 'prechat.name_hint') })),
      h('fieldset', {}, h('legend', { text: t(L, 'prechat.urgent_legend') }),
        radio('urgent', 'yes', 'prechat.urgent_yes'), radio('urgent', 'no', 'prechat.urgent_no', true)),
      h('fieldset', {}, h('legend', { text: t(L, 'prechat.mode_legend') }),
        radio('mode', 'chat', 'prechat.mode_chat', true), radio('mode', 'callback', 'prechat.mode_callback'), radio('mode', 'video', 'prechat.mode_video')),
      phoneBox, error,
      h('div', { class: 'actions' }, submit, toInbox,
        h('button', { type: 'button', onclick: () => this.show(this.statusScreen()) }, t(L, 'back.button'))));
    form.addEventListener('change', () => {
      const mode = (form.querySelector('input[name=mode]:checked') as HTMLInputElement | null)?.value;
      phoneBox.hidden = mode !== 'callback';
    });
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const mode = ((form.querySelector('input[name=mode]:checked') as HTMLInputElement | null)?.value ?? 'chat') as HelpMode;
      const urgent = (form.querySelector('input[name=urgent]:checked') as HTMLInputElement | null)?.value === 'yes';
      if (mode === 'callback' && !validPhone(phone.value)) {
        phoneError.hidden = false;
        phone.setAttribute('aria-invalid', 'true');
        phone.setAttribute('aria-describedby', 'pc-phone-hint pc-phone-error');
        phone.focus();
        return;
      }
      submit.disabled = true;
      const summary = prechatSummary(L, { name: name.value, urgent, mode, phone: phone.value });
      this.session_?.join(urgent, summary).then(
        () => this.show(this.waitingScreen()),
        (err: { code?: string }) => {
          submit.disabled = false;
          if (joinRefusalOffersInbox(err.code)) {
            error.textContent = t(L, err.code === 'queue_full' ? 'waiting.queue_full_offer' : 'waiting.closed');
            toInbox.hidden = false;
          } else if (err.code === 'already_in_queue') {
            this.show(this.waitingScreen());
            return;
          } else {
            error.textContent = t(L, 'error.generic');
          }
          error.hidden = false;
        },
      );
    });
    const el = h('section', { class: 'screen' }, this.heading('prechat.heading'), form);
    return { name: 'prechat', el, update: () => undefined };
  }

  /** The message composer shared by the waiting and chat screens. */
  private composer(): HTMLElement {
    const L = this.lang_;
    const input = h('textarea', { id: 'composer', rows: '3', maxlength: '4000' });
    let typingSent = false;
    let typingTimer: ReturnType<typeof setTimeout> | null = null;
    const send = () => {
      const value = input.value.trim();
      if (!value || !this.session_) return;
      this.session_.sendText(value);
      input.value = '';
      if (typingSent) this.session_.typing(false);
      typingSent = false;
      input.focus();
    };
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        send();
      }
    });
    input.addEventListener('input', () => {
      if (!typingSent && input.value) {
        typingSent = true;
        this.session_?.typing(true);
      }
      if (typingTimer) clearTimeout(typingTimer);
      typingTimer = setTimeout(() => {
        if (typingSent) this.session_?.typing(false);
        typingSent = false;
      }, 3000);
    });
    return h('form', { class: 'composer', onsubmit: (e: Event) => { e.preventDefault(); send(); } },
      h('label', { for: 'composer', text: t(L, 'chat.input_label') }), input,
      h('button', { type: 'submit', class: 'primary' }, t(L, 'chat.send')));
  }

  private messageItem(m: ChatMessage): HTMLElement {
    const L = this.lang_;
    const statusKey: Partial<Record<ChatMessage['status'], StringKey>> = {
      held: 'chat.sending', sending: 'chat.sending', sent: 'chat.sent', delivered: 'chat.delivered', read: 'chat.read', failed: 'chat.failed',
    };
    const key = statusKey[m.status];
    const who = m.sender === 'beneficiary' ? t(L, 'chat.you') : this.session_?.current?.worker?.name ?? '';
    return h('li', { class: `msg ${m.sender === 'beneficiary' ? 'mine' : 'theirs'}`, 'data-id': m.clientMsgId, 'data-status': m.status },
      h('span', { class: 'who', text: `${who} : ` }),
      h('span', { class: 'text', text: m.text }),
      key ? h('span', { class: 'mark', text: ` — ${t(L, key)}` }) : null);
  }

  /** Updates a message list in place: new items appended, statuses changed, nothing re-created. */
  private syncList(list: HTMLElement, messages: readonly ChatMessage[]): void {
    const existing = new Map<string, HTMLElement>();
    for (const li of list.children) existing.set((li as HTMLElement).dataset.id ?? '', li as HTMLElement);
    for (const m of messages) {
      const li = existing.get(m.clientMsgId);
      if (!li) list.appendChild(this.messageItem(m));
      else if (li.dataset.status !== m.status) li.replaceWith(this.messageItem(m));
    }
    const box = list.parentElement;
    if (box) box.scrollTop = box.scrollHeight;
  }

  private waitingScreen(): Screen {
    const L = this.lang_;
    const position = h('p', { class: 'position' });
    const estimate = h('p');
    const notice = h('div');
    const list = h('ul', { class: 'log-list' });
    const log = h('div', { class: 'log', role: 'log', tabindex: '0', 'aria-live': 'polite', 'aria-label': t(L, 'chat.log_label') }, list);
    const leave = h('button', { type: 'button', onclick: () => { void this.session_?.leave().finally(() => this.show(this.statusScreen())); } }, t(L, 'waiting.leave'));
    const el = h('section', { class: 'screen' }, this.heading('waiting.heading'), position, estimate, notice,
      h('p', { text: t(L, 'waiting.write_now') }), log, this.composer(), h('div', { class: 'actions' }, leave));
    let offered = false;
    this.session_?.onEvent((e) => {
      if (e.kind === 'inbox_offer' || e.kind === 'queue_timeout') {
        offered = true;
        const key = waitingOfferKey(e);
        replace(notice, h('p', { class: 'offer', text: t(L, key) }),
          h('button', { type: 'button', onclick: () => this.show(this.inboxScreen()) }, t(L, 'status.leave_message')));
      }
    });
    const update = () => {
      const ticket = this.session_?.ticket;
      if (ticket) {
        position.textContent = ticket.position === 1 ? t(L, 'waiting.position_first') : t(L, 'waiting.position', { n: ticket.position });
        estimate.textContent = t(L, 'waiting.estimate', { wait: formatWait(L, ticket.estimated_wait_s) });
      }
      if (!offered) notice.replaceChildren();
      this.syncList(list, this.session_?.waitingMessages ?? []);
    };
    return { name: 'waiting', el, update };
  }

  private chatScreen(): Screen {
    const L = this.lang_;
    const c = () => this.session_?.current;
    const title = this.heading('chat.heading', { name: c()?.displayName ?? '' });
    const badge = h('p', { class: 'badge', hidden: true });
    const securing = h('p', { class: 'hint', text: t(L, 'chat.securing') });
    // A worker cannot write first (the beneficiary starts X3DH): say so while nothing was written.
    const writeFirst = h('p', { class: 'hint', hidden: true });
    const changed = h('p', { class: 'error', role: 'alert', hidden: true, text: t(L, 'chat.safety_changed') });
    const list = h('ul', { class: 'log-list' });
    const log = h('div', { class: 'log', role: 'log', tabindex: '0', 'aria-live': 'polite', 'aria-label': t(L, 'chat.log_label') }, list);
    const typing = h('p', { class: 'typing', 'aria-live': 'off' });
    const safetyBox = h('div', { class: 'safety', hidden: true, id: 'safety' });
    const safetyButton = h('button', { type: 'button', 'aria-expanded': 'false', 'aria-controls': 'safety' }, t(L, 'chat.safety_show'));
    safetyButton.addEventListener('click', () => {
      const open = safetyBox.hidden;
      safetyBox.hidden = !open;
      safetyButton.setAttribute('aria-expanded', String(open));
      safetyButton.textContent = t(L, open ? 'chat.safety_hide' : 'chat.safety_show');
    });
    const { button: resumeButton, box: resumeBox } = this.resumeOffer();
    const endBox = h('div');
    const endButton = h('button', { type: 'button', class: 'danger' }, t(L, 'chat.end'));
    endButton.addEventListener('click', () => {
      replace(endBox, h('p', { text: t(L, 'chat.end_confirm') }),
        h('div', { class: 'actions' },
          h('button', { type: 'button', class: 'danger', onclick: () => { void this.session_?.end(); } }, t(L, 'chat.end_yes')),
          h('button', { type: 'button', onclick: () => { endBox.replaceChildren(); endButton.focus(); } }, t(L, 'chat.end_no'))));
      endBox.querySelector('button')?.focus();
    });
    const el = h('section', { class: 'screen chat' }, title, badge, securing, writeFirst, changed, log, typing, this.composer(),
      h('div', { class: 'actions' }, safetyButton, resumeButton, endButton), safetyBox, resumeBox, endBox);
    const update = () => {
      const conv = c();
      if (!conv) return;
      const worker = conv.worker;
      title.textContent = t(L, 'chat.heading', { name: worker?.name ?? conv.displayName });
      securing.hidden = worker !== undefined;
      if (worker) {
        badge.hidden = false;
        replace(badge, h('span', { class: 'check', 'aria-hidden': 'true', text: '✓ ' }), t(L, 'chat.verified'), h('span', { class: 'hint', text: ` — ${t(L, 'chat.verified_hint')}` }));
        replace(safetyBox, h('p', { text: t(L, 'chat.safety_explain') }), h('p', { class: 'code', 'data-testid': 'safety-number', text: worker.safetyNumber }));
      }
      changed.hidden = !conv.safetyChanged;
      writeFirst.hidden = !conv.open || conv.messages.length > 0;
      writeFirst.textContent = t(L, 'chat.write_first', { name: worker?.name ?? conv.displayName });
      typing.textContent = conv.workerTyping ? t(L, 'chat.typing', { name: worker?.name ?? conv.displayName }) : '';
      this.syncList(list, conv.messages);
      if (document.visibilityState === 'visible') this.session_?.markRead();
      if (this.session_?.resumeCode && !resumeBox.hasChildNodes()) resumeButton.hidden = true;
    };
    return { name: 'chat', el, update };
  }

  /** A button that creates a resume code, and the box where the code appears once. */
  private resumeOffer(): { button: HTMLButtonElement; box: HTMLElement } {
    const L = this.lang_;
    const box = h('div', { class: 'resume' });
    const button = h('button', { type: 'button' }, t(L, 'resume.offer'));
    button.addEventListener('click', () => {
      button.disabled = true;
      replace(box, h('p', { role: 'status', text: t(L, 'resume.working') }));
      this.session_?.createResumeCode().then(
        (code) => {
          button.hidden = true;
          replace(box,
            h('p', { text: t(L, 'resume.your_code') }),
            h('p', { class: 'code', 'data-testid': 'resume-code', text: code }),
            h('p', { class: 'hint', text: t(L, 'resume.copy_hint') }));
        },
        () => { button.disabled = false; replace(box, h('p', { class: 'error', role: 'alert', text: t(L, 'error.generic') })); },
      );
    });
    return { button, box };
  }

  private endedScreen(): Screen {
    const L = this.lang_;
    const conv = this.session_?.current;
    const reasonKey: StringKey = conv?.endedReason === 'beneficiary' ? 'chat.ended_you'
      : conv?.endedReason === 'shift_end' ? 'chat.ended_shift'
      : conv?.endedReason === 'inactivity' ? 'chat.ended_inactivity' : 'chat.ended_worker';
    // Feedback: a rating and an optional comment, sealed to the workers as an inbox entry
    // (CRYPTO.md §17.8). Nothing is sent until the person presses the button.
    let rating: FeedbackRating = null;
    const thanks = h('p', { role: 'status', tabindex: '-1' });
    const choice = (value: Exclude<FeedbackRating, null>, key: StringKey) =>
      h('button', { type: 'button', class: 'feedback', 'aria-pressed': 'false', 'data-rating': value, onclick: (e: Event) => {
        rating = value;
        for (const b of el.querySelectorAll('.feedback')) b.setAttribute('aria-pressed', String(b === e.currentTarget));
      } }, t(L, key));
    const comment = h('textarea', { id: 'feedback-comment', rows: '2', maxlength: String(feedbackMaxChars), 'aria-describedby': 'feedback-private' });
    const sendFeedback = h('button', { type: 'submit', class: 'primary' }, t(L, 'end.feedback_send'));
    const feedbackForm = h('form', { class: 'feedback-form', novalidate: true },
      h('fieldset', { class: 'feedback-group' }, h('legend', { text: t(L, 'end.feedback_legend') }),
        h('div', { class: 'actions' }, ...feedbackChoices.map((c) => choice(c.rating, c.label)))),
      h('div', { class: 'field' }, h('label', { for: 'feedback-comment', text: t(L, 'end.feedback_comment') }), comment,
        h('p', { class: 'hint', id: 'feedback-private', text: t(L, 'end.feedback_private') })),
      h('div', { class: 'actions' }, sendFeedback));
    feedbackForm.addEventListener('submit', (e) => {
      e.preventDefault();
      const payload = feedbackToSend(rating, comment.value);
      if (!payload) {
        thanks.textContent = t(L, 'end.feedback_empty');
        return;
      }
      if (!this.session_) return;
      sendFeedback.disabled = true;
      thanks.textContent = t(L, 'inbox.sending');
      this.session_.sendFeedback(payload.rating, payload.text).then(
        () => {
          // The form goes; focus moves to the thanks (announced by its status role).
          thanks.textContent = t(L, 'end.feedback_thanks');
          feedbackForm.remove();
          thanks.focus();
        },
        (err: { code?: string }) => {
          sendFeedback.disabled = false;
          thanks.textContent = t(L, sealFailureKey(err.code));
        },
      );
    });
    const url = this.session_?.permanence?.contribution_url;
    const contribution = url && /^https:\/\//.test(url)
      ? h('div', { class: 'contribution' }, h('p', { text: t(L, 'end.contribution') }),
        h('a', { href: url, target: '_blank', rel: 'noopener noreferrer', class: 'link-button' }, t(L, 'end.contribution_link')))
      : null;
    const list = h('ul', { class: 'log-list' });
    const log = h('div', { class: 'log', role: 'log', tabindex: '0', 'aria-label': t(L, 'chat.log_label') }, list);
    if (conv) this.syncList(list, conv.messages);
    const el = h('section', { class: 'screen' }, this.heading('end.heading'),
      h('p', { text: t(L, reasonKey, { name: conv?.worker?.name ?? conv?.displayName ?? '' }) }),
      feedbackForm, thanks, contribution,
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'primary', onclick: () => this.show(this.statusScreen()) }, t(L, 'end.new'))),
      log, this.emergencyBlock(this.session_?.permanence ?? null));
    return { name: 'ended', el, update: () => undefined };
  }

  private resumeScreen(): Screen {
    const L = this.lang_;
    const input = h('input', { type: 'text', id: 'resume-code', autocomplete: 'off', autocapitalize: 'characters', spellcheck: 'false', 'aria-describedby': 'resume-error' });
    const error = h('p', { class: 'error', id: 'resume-error', role: 'alert' });
    const submit = h('button', { type: 'submit', class: 'primary' }, t(L, 'resume.enter_submit'));
    const form = h('form', { novalidate: true },
      h('div', { class: 'field' }, h('label', { for: 'resume-code', text: t(L, 'resume.enter_label') }), input), error,
      h('div', { class: 'actions' }, submit, h('button', { type: 'button', onclick: () => this.show(this.statusScreen()) }, t(L, 'back.button'))));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      if (!this.module_) return;
      submit.disabled = true;
      error.textContent = t(L, 'resume.working');
      this.module_.restoreSession(this.options(), input.value).then(
        (restored) => {
          // The anonymous session of this visit is replaced by the restored one.
          this.session_?.wipe();
          this.attach(restored);
          // No conversation yet: a message was left and not answered so far; an answer arrives as
          // conversation.opened once connected, which shows the chat.
          const c = restored.current;
          this.show(!c ? this.pendingScreen() : c.open ? this.chatScreen() : this.endedScreen());
        },
        (err: { code?: string }) => {
          submit.disabled = false;
          error.textContent = t(L, err.code === 'bad_code' ? 'resume.bad_code' : err.code === 'backup_not_found' ? 'resume.not_found' : 'error.generic');
          input.setAttribute('aria-invalid', 'true');
          input.focus();
        },
      );
    });
    const el = h('section', { class: 'screen' }, this.heading('resume.enter_heading'), form);
    return { name: 'resume', el, update: () => undefined };
  }

  /**
   * Leave a message (closed, queue full, long wait or end of the wait): sealed to the verified
   * workers (inbox.send); then a clear confirmation and the offer of a resume code, the only
   * way to read the answer later. What the person wrote while waiting is already in the box.
   */
  private inboxScreen(): Screen {
    const L = this.lang_;
    const input = h('textarea', { id: 'inbox-text', rows: '6', maxlength: String(inboxMaxChars), 'aria-describedby': 'inbox-intro' });
    input.value = prefillFromWaiting(this.session_?.waitingMessages ?? []);
    const error = h('p', { class: 'error', role: 'alert' });
    const submit = h('button', { type: 'submit', class: 'primary' }, t(L, 'inbox.send'));
    const back = () => h('button', { type: 'button', onclick: () => this.show(this.statusScreen()) }, t(L, 'back.button'));
    const form = h('form', { novalidate: true },
      h('p', { id: 'inbox-intro', text: t(L, 'inbox.intro') }),
      h('div', { class: 'field' }, h('label', { for: 'inbox-text', text: t(L, 'inbox.label') }), input), error,
      h('div', { class: 'actions' }, submit, back()));
    const body = h('div', {}, form);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const value = input.value.trim();
      if (!value) {
        error.textContent = t(L, 'inbox.empty');
        input.setAttribute('aria-invalid', 'true');
        input.focus();
        return;
      }
      if (!this.session_) return;
      submit.disabled = true;
      error.textContent = t(L, 'inbox.sending');
      this.session_.leaveMessage(value).then(
        () => {
          if (this.session_) this.session_.waitingMessages.length = 0;
          const { button, box } = this.resumeOffer();
          const done = h('p', { class: 'done', role: 'status', tabindex: '-1', 'data-testid': 'inbox-sent', text: t(L, 'inbox.sent') });
          replace(body, done, h('p', { text: t(L, 'inbox.resume_hint') }),
            h('div', { class: 'actions' }, button), box, h('div', { class: 'actions' }, back()));
          done.focus();
        },
        (err: { code?: string }) => {
          // The text stays in the box; the same text sent again is the same entry (idempotent).
          submit.disabled = false;
          error.textContent = t(L, sealFailureKey(err.code));
          input.focus();
        },
      );
    });
    const el = h('section', { class: 'screen' }, this.heading('inbox.heading'), body,
      this.emergencyBlock(this.session_?.permanence ?? null));
    return { name: 'inbox', el, update: () => undefined };
  }

  /** Back with a resume code after leaving a message that nobody has answered yet. */
  private pendingScreen(): Screen {
    const L = this.lang_;
    const el = h('section', { class: 'screen' }, this.heading('inbox.pending_heading'),
      h('p', { role: 'status', text: t(L, 'inbox.pending') }),
      h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => this.show(this.statusScreen()) }, t(L, 'back.button'))),
      this.emergencyBlock(this.session_?.permanence ?? null));
    return { name: 'pending', el, update: () => undefined };
  }

  private blockedScreen(): Screen {
    const L = this.lang_;
    const reason = this.session_?.current?.untrusted;
    const key: StringKey = reason === 'untrusted_org_key' ? 'error.fingerprint' : 'chat.untrusted';
    const el = h('section', { class: 'screen' }, this.heading('app.title'),
      h('p', { class: 'error', role: 'alert', 'data-testid': 'untrusted', text: t(L, key) }),
      this.emergencyBlock(this.session_?.permanence ?? null));
    return { name: 'blocked', el, update: () => undefined };
  }
}
