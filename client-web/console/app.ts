// The console's screens: login, TOTP enrolment, first-run key setup, unlock, recovery, and the
// desk (shift, queue, conversations side by side, notes, transfer, inbox, canned replies,
// export, embed snippet). State and protocol work live in desk.ts and vault.ts.
import {
  CryptoError,
  formatRecoveryKey,
  formatSafetyNumber,
  fromBase64Url,
  generateRecoveryKey,
  orgFingerprint,
  parseRecoveryKey,
  parseWorkerCertificate,
  deriveRecoveryKeys,
  safetyNumber,
  systemRandom,
  toBase64Url,
  verifyWorkerCertificate,
  wipe,
} from '../common/crypto/index.js';
import { Desk, type DeskNotice, type InboxEntryView } from './desk.js';
import { weekLines } from './week.js';
import { field, h, replaceChildren } from './dom.js';
import { consoleLimits } from './limits.js';
import { LinkClosedError, ServerError, type Frame } from './link.js';
import { groupedSecret, qrSvg } from './qr.js';
import { embedSnippet, sriSha384, widgetLoaderPath } from './snippet.js';
import { catalogues, translator, type Lang, type StringKey } from './strings.js';
import { printableTranscript, sealTranscript, transcriptOf } from './transcript.js';
import { Vault, attachRecovery, keystoreKey, openRecovery, openVault, sealRecovery, sealVault, type KeystoreKey } from './vault.js';
import { authRequest, toLinkError, TransportLink } from './transport_link.js';
import type { AuthContext, StateInfo, TransportState } from '../common/transport/index.js';

/** Characters: shortest passphrase accepted for the keystore. */
const minPassphraseChars = 12;

interface Session {
  token?: string;
  workerId: number;
  displayName: string;
  username: string;
}

/** The console application: one per page. */
export class ConsoleApp {
  private lang_: Lang = 'fr';
  private t = translator('fr');
  private readonly root_: HTMLElement;
  private readonly status_: HTMLElement;
  private readonly announcer_: HTMLElement;
  private link_: TransportLink;
  private pendingLogin_: Frame | undefined;
  private everReady_ = false;
  private session_: Session | undefined;
  private desk_: Desk | undefined;
  private keystoreKey_: KeystoreKey | undefined;
  private screen_: () => void = () => this.showLogin();
  private readonly panes_ = new Map<number, ConversationPane>();
  private renderQueued_ = false;
  private lastNotices_ = 0;

  constructor(root: HTMLElement) {
    this.root_ = root;
    this.status_ = h('p', { id: 'connection-status', role: 'status', class: 'connection' });
    this.announcer_ = h('div', { id: 'announcer', class: 'visually-hidden', 'aria-live': 'polite' });
    this.link_ = this.newLink();
  }

  private newLink(): TransportLink {
    const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws';
    const link = new TransportLink({
      url,
      authenticate: (ctx) => this.authenticate(ctx),
      cursors: () => (this.desk_ ? this.desk_.openConversations().slice(0, 256).map((c) => ({ conversation_id: c.id, last_seq: c.lastSeq })) : []),
    });
    link.onState((s, info) => this.onLinkState(s, info));
    return link;
  }

  /** The transport's hook on every new connection: resume with the token, or log in (and enrol TOTP). */
  private async authenticate(ctx: AuthContext): Promise<void> {
    if (this.session_?.token) {
      await authRequest(ctx, { type: 'auth.resume', token: this.session_.token });
      return;
    }
    const login = this.pendingLogin_;
    this.pendingLogin_ = undefined;
    if (!login) throw new Error('no credentials');
    const ok = await authRequest(ctx, login);
    this.session_ = { token: String(ok['token']), workerId: Number(ok['worker_id']), displayName: String(ok['display_name'] ?? login['username']), username: String(login['username']) };
    if (ok['totp_enrolled'] === false) await this.showTotpEnrolment(ctx);
  }

  /** Builds the page frame and shows the first screen. */
  start(): void {
    const saved = new URLSearchParams(location.search).get('lang');
    if (saved === 'en' || saved === 'fr') this.setLang(saved);
    this.screen_();
  }

  private setLang(lang: Lang): void {
    this.lang_ = lang;
    this.t = translator(lang);
    document.documentElement.lang = lang;
    document.title = this.t('app_title');
  }

  // ---- frame -----------------------------------------------------------------------------

  private frame(title: string, ...content: (Node | null)[]): void {
    const langButton = h('button', {
      type: 'button',
      id: 'lang-switch',
      lang: this.lang_ === 'fr' ? 'en' : 'fr',
      'aria-label': this.t('lang_switch_label'),
      text: this.t('lang_switch'),
      onclick: () => {
        this.setLang(this.lang_ === 'fr' ? 'en' : 'fr');
        this.panes_.clear();
        this.screen_();
        document.getElementById('lang-switch')?.focus();
      },
    });
    const large = h('button', {
      type: 'button',
      id: 'large-text',
      'aria-pressed': String(document.documentElement.classList.contains('large')),
      text: this.t('large_text'),
      onclick: (e: Event) => {
        const on = document.documentElement.classList.toggle('large');
        (e.currentTarget as HTMLElement).setAttribute('aria-pressed', String(on));
      },
    });
    const header = h('header', { class: 'top' }, h('a', { href: '#main', class: 'skip', text: this.t('skip_to_main') }), h('span', { class: 'brand', text: 'Relais' }), h('div', { class: 'tools' }, large, langButton));
    const main = h('main', { id: 'main', tabindex: '-1' }, h('h1', { text: title }), ...content.filter((c): c is Node => c !== null));
    this.root_.replaceChildren(header, this.status_, main, this.announcer_);
  }

  private errorBox(id: string): HTMLElement {
    return h('p', { id, class: 'error', role: 'alert' });
  }

  private errorText(e: unknown): string {
    if (e instanceof ServerError) {
      switch (e.errorName) {
        case 'invalid_credentials':
          return this.t('err_invalid_credentials');
        case 'totp_required':
          return this.t('err_totp_required');
        case 'account_locked':
          return this.t('err_account_locked', { minutes: Math.max(1, Math.ceil((e.retryAfterMs ?? 60_000) / 60_000)) });
        case 'rate_limited':
          return this.t('err_rate_limited', { seconds: Math.max(1, Math.ceil((e.retryAfterMs ?? 1000) / 1000)) });
        case 'invalid_token':
          return this.t('err_session_expired');
        default:
          return this.t('err_generic', { name: e.errorName });
      }
    }
    if (e instanceof LinkClosedError) return this.t('err_unreachable');
    return this.t('err_generic', { name: e instanceof Error ? e.message : String(e) });
  }

  private onLinkState(s: TransportState, info: StateInfo): void {
    if (s === 'waiting_retry') this.status_.textContent = this.t('connection_offline');
    else if (s === 'ready') {
      if (this.everReady_ && this.desk_) {
        this.status_.textContent = this.t('connection_back');
        void this.desk_.resume().catch(() => undefined);
      } else this.status_.textContent = this.t('connection_online');
      this.everReady_ = true;
    } else if (s === 'stopped' && info.action === 'login' && this.desk_ && this.session_?.token) {
      // Revoked or expired: log in again; the desk (and every draft in it) stays in memory.
      this.session_.token = undefined;
      this.showLogin(this.t('err_session_expired'));
    } else if (s === 'stopped' && info.action === 'shift_ended') {
      // Off means off: the schedule ended the shift and closed the connection; nothing arrives now.
      this.status_.textContent = this.t('shift_ended_closed');
      this.desk_?.shiftEndedByServer();
    }
  }

  // ---- login -----------------------------------------------------------------------------

  private showLogin(message?: string): void {
    this.screen_ = () => this.showLogin(message);
    const err = this.errorBox('login-error');
    if (message) err.textContent = message;
    const username = h('input', { name: 'username', autocomplete: 'username', required: true, value: this.session_?.username ?? '' });
    const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
    const totp = h('input', { name: 'totp', inputmode: 'numeric', autocomplete: 'one-time-code', pattern: '[0-9]{6,8}', maxlength: 8 });
    const device = h('input', { name: 'device', value: this.t('device_default'), maxlength: 64, required: true });
    const submit = h('button', { type: 'submit', text: this.t('login_button') });
    const form = h(
      'form',
      {
        id: 'login-form',
        onsubmit: (ev: Event) => {
          ev.preventDefault();
          void this.login(username.value.trim(), password.value, totp.value.trim(), device.value.trim(), err, submit);
        },
      },
      field('username', this.t('username'), username),
      field('password', this.t('password'), password),
      field('totp', this.t('totp_code'), totp, this.t('totp_code_hint')),
      field('device', this.t('device'), device),
      submit,
      err,
    );
    this.frame(this.t('login_title'), h('p', { text: this.t('login_intro') }), form);
    (username.value ? password : username).focus();
  }

  private async login(username: string, password: string, totp: string, device: string, err: HTMLElement, submit: HTMLButtonElement): Promise<void> {
    err.textContent = '';
    submit.disabled = true;
    submit.textContent = this.t('working');
    const f: Frame = { type: 'auth.login', username, password, device };
    if (totp) f['totp'] = totp;
    this.pendingLogin_ = f;
    if (this.session_) this.session_.token = undefined;
    try {
      await this.link_.start();
      if (this.desk_) {
        // Logged in again after a revoked session: the unlocked desk carries on.
        await this.desk_.resume();
        this.showDesk();
      } else await this.afterLogin();
    } catch (e) {
      this.pendingLogin_ = undefined;
      err.textContent = this.errorText(e);
      submit.disabled = false;
      submit.textContent = this.t('login_button');
    }
  }

  // ---- TOTP enrolment --------------------------------------------------------------------

  private async showTotpEnrolment(ctx: AuthContext): Promise<void> {
    const reply = await authRequest(ctx, { type: 'auth.totp_setup' });
    const uri = String(reply['otpauth_uri']);
    let done: () => void = () => {};
    const enrolled = new Promise<void>((resolve) => {
      done = resolve;
    });
    const grouped = groupedSecret(uri);
    const err = this.errorBox('totp-error');
    const code = h('input', { name: 'code', inputmode: 'numeric', autocomplete: 'one-time-code', pattern: '[0-9]{6,8}', maxlength: 8, required: true });
    const submit = h('button', { type: 'submit', text: this.t('totp_confirm') });
    const form = h(
      'form',
      {
        id: 'totp-form',
        onsubmit: (ev: Event) => {
          ev.preventDefault();
          err.textContent = '';
          authRequest(ctx, { type: 'auth.totp_confirm', code: code.value.trim() }).then(
            () => {
              this.announce(this.t('totp_done'));
              done();
            },
            (e: unknown) => {
              err.textContent = this.errorText(toLinkError(e));
              code.select();
            },
          );
        },
      },
      field('totp-confirm-code', this.t('totp_code'), code),
      submit,
      err,
    );
    // The QR code for the phone's camera; the same key as text (screen readers, no camera,
    // manual entry) and as the otpauth link.
    this.frame(
      this.t('totp_title'),
      h('p', { text: this.t('totp_intro') }),
      h('figure', { class: 'qr-figure' }, qrSvg(document, uri, 'totp-qr-caption'), h('figcaption', { id: 'totp-qr-caption', text: this.t('totp_qr_alt') })),
      h('dl', {}, h('dt', { text: this.t('totp_secret') }), h('dd', {}, h('code', { id: 'totp-secret', class: 'secret', text: grouped })), h('dt', { text: this.t('totp_uri') }), h('dd', {}, h('a', { id: 'totp-uri', href: uri, class: 'uri', text: uri }))),
      form,
    );
    code.focus();
    await enrolled;
  }

  // ---- keys: setup, unlock, restore ------------------------------------------------------

  private async afterLogin(): Promise<void> {
    try {
      const blob = await this.link_.request({ type: 'backup.get', kind: 'keystore' });
      this.showUnlock(fromBase64Url(String(blob['blob'])), Number(blob['version']));
    } catch (e) {
      if (e instanceof ServerError && e.errorName === 'backup_not_found') this.showSetup();
      else this.showLogin(this.errorText(e));
    }
  }

  private showSetup(): void {
    const vault = Vault.create(systemRandom, Math.floor(Date.now() / 1000));
    this.screen_ = () => this.showSetup();
    const ik = toBase64Url(vault.identity.publicKey);
    const name = this.session_?.displayName ?? '';
    const command = `relais-cli org certify --org-key ORG_KEY_FILE --identity-key ${ik} --name "${name.replace(/"/g, '\\"')}"`;
    const cert = h('textarea', { name: 'certificate', rows: 3, required: true, spellcheck: 'false' });
    const pass1 = h('input', { type: 'password', autocomplete: 'new-password', required: true, minlength: minPassphraseChars });
    const pass2 = h('input', { type: 'password', autocomplete: 'new-password', required: true, minlength: minPassphraseChars });
    const org = h('p', { id: 'setup-org', role: 'status' });
    const err = this.errorBox('setup-error');
    const submit = h('button', { type: 'submit', text: this.t('setup_continue') });
    cert.addEventListener('change', () => {
      const fp = this.checkCertificate(vault, cert.value);
      org.textContent = fp ? this.t('setup_org', { fingerprint: fp }) : '';
    });
    const form = h(
      'form',
      {
        id: 'setup-form',
        onsubmit: (ev: Event) => {
          ev.preventDefault();
          err.textContent = '';
          if (!this.checkCertificate(vault, cert.value)) {
            err.textContent = `${this.t('setup_certificate_bad')} (${this.certificateProblem_})`;
            cert.focus();
            return;
          }
          const pe = this.passphraseProblem(pass1.value, pass2.value);
          if (pe) {
            err.textContent = pe;
            pass1.focus();
            return;
          }
          submit.disabled = true;
          submit.textContent = this.t('working');
          // Argon2id takes about a second: let the "one moment" paint first.
          setTimeout(() => void this.finishSetup(vault, pass1.value, err, submit), 30);
        },
      },
      field('setup-certificate', this.t('setup_certificate'), cert, this.t('setup_certificate_hint')),
      field('setup-passphrase', this.t('setup_passphrase'), pass1, this.t('setup_passphrase_hint')),
      field('setup-passphrase-again', this.t('setup_passphrase_again'), pass2),
      submit,
      err,
      // Below the button: filled when the certificate box loses focus, it must not move the button.
      org,
    );
    this.frame(
      this.t('setup_title'),
      h('p', { text: this.t('setup_intro') }),
      h('h2', { text: this.t('setup_identity') }),
      h('p', {}, h('code', { id: 'setup-identity-key', class: 'secret', text: ik })),
      h('p', { text: this.t('setup_certify_intro') }),
      h('pre', {}, h('code', { id: 'setup-command', text: command })),
      form,
    );
    cert.focus();
  }

  /** The org fingerprint if `text` is a valid certificate of this vault's identity, else undefined. */
  private checkCertificate(vault: Vault, text: string): string | undefined {
    try {
      const bytes = fromBase64Url(text.trim());
      const parsed = parseWorkerCertificate(bytes).certificate;
      const fp = orgFingerprint(parsed.orgPublicKey);
      verifyWorkerCertificate(bytes, fp, Math.floor(Date.now() / 1000), vault.identity.publicKey);
      vault.certificate = bytes;
      return fp;
    } catch (e) {
      this.certificateProblem_ = e instanceof CryptoError ? e.code : String(e);
      return undefined;
    }
  }

  private passphraseProblem(a: string, b: string): string | undefined {
    if ([...a].length < minPassphraseChars) return this.t('setup_passphrase_short');
    if (a !== b) return this.t('setup_passphrase_mismatch');
    return undefined;
  }

  private async finishSetup(vault: Vault, passphrase: string, err: HTMLElement, submit: HTMLButtonElement): Promise<void> {
    try {
      this.keystoreKey_ = keystoreKey(passphrase, systemRandom);
      const recoveryKey = generateRecoveryKey(systemRandom);
      attachRecovery(vault, recoveryKey);
      const shown = formatRecoveryKey(recoveryKey);
      wipe(recoveryKey);
      const desk = this.makeDesk(vault, { keystore: 0, recovery: 0 });
      // The sealed keys are stored before the bundle is published: no message can arrive for
      // keys the server does not keep for her.
      await desk.saveNow();
      if (desk.notices.some((n) => n.kind === 'save_failed')) throw new Error('backup');
      await this.link_.request({ type: 'keys.publish', ...vault.publishFields([...vault.oneTimePreKeys.values()], true) });
      this.showRecoveryKey(shown);
    } catch (e) {
      err.textContent = this.errorText(e);
      submit.disabled = false;
      submit.textContent = this.t('setup_continue');
    }
  }

  private showRecoveryKey(shown: string): void {
    this.screen_ = () => this.showRecoveryKey(shown);
    const written = h('input', { type: 'checkbox', id: 'recovery-written' });
    const go = h('button', { type: 'button', id: 'recovery-continue', text: this.t('recovery_continue'), disabled: true, onclick: () => void this.enterDesk() });
    written.addEventListener('change', () => {
      go.disabled = !written.checked;
    });
    this.frame(
      this.t('recovery_title'),
      h('p', { text: this.t('recovery_intro') }),
      h('p', { class: 'recovery-key' }, h('code', { id: 'recovery-key', text: shown })),
      h('button', { type: 'button', text: this.t('recovery_print'), onclick: () => window.print() }),
      h('div', { class: 'check' }, written, h('label', { for: 'recovery-written', text: this.t('recovery_written') })),
      go,
    );
    written.focus();
  }

  private showUnlock(blob: Uint8Array, version: number): void {
    this.screen_ = () => this.showUnlock(blob, version);
    const pass = h('input', { type: 'password', autocomplete: 'current-password', required: true });
    const err = this.errorBox('unlock-error');
    const submit = h('button', { type: 'submit', text: this.t('unlock_button') });
    const form = h(
      'form',
      {
        id: 'unlock-form',
        onsubmit: (ev: Event) => {
          ev.preventDefault();
          err.textContent = '';
          submit.disabled = true;
          submit.textContent = this.t('working');
          setTimeout(() => {
            try {
              const k = keystoreKey(pass.value, systemRandom, blob);
              const vault = Vault.deserialize(openVault(k, blob));
              this.keystoreKey_ = k;
              void this.unlocked(vault, version);
            } catch (e) {
              err.textContent = e instanceof CryptoError ? this.t('unlock_wrong') : this.errorText(e);
              submit.disabled = false;
              submit.textContent = this.t('unlock_button');
              pass.select();
            }
          }, 30);
        },
      },
      field('unlock-passphrase', this.t('setup_passphrase'), pass),
      submit,
      err,
    );
    this.frame(this.t('unlock_title'), h('p', { text: this.t('unlock_intro') }), form, h('p', {}, h('button', { type: 'button', id: 'use-recovery', class: 'link', text: this.t('unlock_use_recovery'), onclick: () => this.showRestore(version) })));
    pass.focus();
  }

  private async unlocked(vault: Vault, keystoreVersion: number): Promise<void> {
    let recoveryVersion = 0;
    if (vault.recovery) {
      try {
        const r = await this.link_.request({ type: 'backup.get', kind: 'recovery', lookup: toBase64Url(vault.recovery.lookupId) });
        recoveryVersion = Number(r['version']);
      } catch (e) {
        if (!(e instanceof ServerError && e.errorName === 'backup_not_found')) throw e;
      }
    }
    const desk = this.makeDesk(vault, { keystore: keystoreVersion, recovery: recoveryVersion });
    if (vault.rotateSignedPreKeyIfDue(systemRandom, Math.floor(Date.now() / 1000))) {
      await desk.saveNow();
      await this.link_.request({ type: 'keys.publish', ...vault.publishFields([], true) });
    }
    await this.enterDesk();
  }

  private showRestore(keystoreVersion: number): void {
    this.screen_ = () => this.showRestore(keystoreVersion);
    const key = h('input', { autocomplete: 'off', spellcheck: 'false', required: true });
    const pass1 = h('input', { type: 'password', autocomplete: 'new-password', required: true });
    const pass2 = h('input', { type: 'password', autocomplete: 'new-password', required: true });
    const err = this.errorBox('restore-error');
    const submit = h('button', { type: 'submit', text: this.t('restore_button') });
    const form = h(
      'form',
      {
        id: 'restore-form',
        onsubmit: (ev: Event) => {
          ev.preventDefault();
          err.textContent = '';
          const pe = this.passphraseProblem(pass1.value, pass2.value);
          if (pe) {
            err.textContent = pe;
            pass1.focus();
            return;
          }
          submit.disabled = true;
          submit.textContent = this.t('working');
          void this.restore(key.value, pass1.value, keystoreVersion).catch((e: unknown) => {
            err.textContent = e instanceof CryptoError || (e instanceof ServerError && e.errorName === 'backup_not_found') ? this.t('restore_bad') : this.errorText(e);
            submit.disabled = false;
            submit.textContent = this.t('restore_button');
            key.focus();
          });
        },
      },
      field('restore-key', this.t('restore_key'), key),
      h('p', { text: this.t('restore_new_passphrase') }),
      field('restore-passphrase', this.t('setup_passphrase'), pass1, this.t('setup_passphrase_hint')),
      field('restore-passphrase-again', this.t('setup_passphrase_again'), pass2),
      submit,
      err,
    );
    this.frame(this.t('restore_title'), form);
    key.focus();
  }

  private async restore(text: string, passphrase: string, keystoreVersion: number): Promise<void> {
    const recoveryKey = parseRecoveryKey(text);
    const keys = deriveRecoveryKeys(recoveryKey);
    wipe(recoveryKey);
    const reply = await this.link_.request({ type: 'backup.get', kind: 'recovery', lookup: toBase64Url(keys.lookupId) });
    const vault = Vault.deserialize(openRecovery(keys.backupKey, fromBase64Url(String(reply['blob']))));
    this.keystoreKey_ = keystoreKey(passphrase, systemRandom);
    const desk = this.makeDesk(vault, { keystore: keystoreVersion, recovery: Number(reply['version']) });
    await desk.saveNow();
    await this.enterDesk();
  }

  private makeDesk(vault: Vault, versions: { keystore: number; recovery: number }): Desk {
    const k = this.keystoreKey_!;
    const desk = new Desk(
      this.link_,
      vault,
      { random: systemRandom, now: () => Date.now(), notify: (kind) => this.notify(kind) },
      { keystore: (p) => sealVault(k, p, systemRandom), recovery: (p) => sealRecovery(vault, p, systemRandom) },
      versions,
      this.session_?.workerId ?? 0,
    );
    this.desk_ = desk;
    desk.subscribe(() => this.queueRender());
    return desk;
  }

  private async enterDesk(): Promise<void> {
    await this.desk_!.resume();
    this.showDesk();
  }

  // ---- notifications ---------------------------------------------------------------------

  private notify(kind: 'queue' | 'assigned' | 'message'): void {
    // The desk calls this only on shift. No content ever goes into a notification.
    const key: StringKey = kind === 'queue' ? 'notify_queue' : kind === 'assigned' ? 'notify_assigned' : 'notify_message';
    if (typeof Notification !== 'undefined' && Notification.permission === 'granted' && document.visibilityState !== 'visible') {
      new Notification('Relais', { body: this.t(key), tag: 'relais-' + kind, silent: false });
    }
    this.beep();
  }

  private beep(): void {
    try {
      const Ctx = (window as unknown as { AudioContext?: typeof AudioContext }).AudioContext;
      if (!Ctx) return;
      const ctx = new Ctx();
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.frequency.value = 660;
      gain.gain.value = 0.05;
      osc.connect(gain).connect(ctx.destination);
      osc.start();
      osc.stop(ctx.currentTime + 0.15);
      osc.onended = () => void ctx.close();
    } catch {
      // Sound is a courtesy; a browser without audio loses nothing else.
    }
  }

  private announce(text: string): void {
    this.announcer_.textContent = '';
    // A new text node in a polite live region is read once.
    setTimeout(() => {
      this.announcer_.textContent = text;
    }, 50);
  }

  // ---- desk ------------------------------------------------------------------------------

  private queueRender(): void {
    if (this.renderQueued_) return;
    this.renderQueued_ = true;
    queueMicrotask(() => {
      this.renderQueued_ = false;
      if (document.getElementById('desk')) this.renderDesk();
    });
  }

  private certificateProblem_ = '';
  private queueTimer_: ReturnType<typeof setInterval> | undefined;

  private showDesk(): void {
    this.screen_ = () => this.showDesk();
    // relaisd pushes queue.snapshot to workers on shift (PROTOCOL.md §6.5); reading it again
    // every few seconds covers a server that does not push yet, and costs one frame.
    if (this.queueTimer_ === undefined) {
      this.queueTimer_ = setInterval(() => {
        if (this.desk_?.onShift) void this.desk_.refreshQueue();
      }, consoleLimits.queueRefreshMs);
    }
    this.panes_.clear();
    const desk = h('div', { id: 'desk', class: 'desk' });
    this.frame(this.t('desk_title'), desk);
    this.renderDesk();
    document.getElementById('main')?.focus();
  }

  private renderDesk(): void {
    const d = this.desk_!;
    const root = document.getElementById('desk')!;
    // For tests and scripts: whether everything shown is already sealed on the server.
    root.dataset['save'] = d.saveIdle ? 'idle' : 'pending';
    let shift = document.getElementById('shift-panel');
    if (!shift) {
      shift = h('section', { id: 'shift-panel', class: 'panel', 'aria-labelledby': 'shift-title' });
      const queue = h('section', { id: 'queue-panel', class: 'panel', 'aria-labelledby': 'queue-title' });
      const convs = h('section', { id: 'conversations', class: 'conversations', 'aria-labelledby': 'conversations-title' }, h('h2', { id: 'conversations-title', text: this.t('conversations_title') }), h('p', { id: 'conversations-none', text: this.t('conversations_none') }), h('div', { id: 'panes', class: 'panes' }));
      const side = h('div', { id: 'side', class: 'side' }, h('section', { id: 'inbox-panel', class: 'panel', 'aria-labelledby': 'inbox-title' }), h('section', { id: 'week-panel', class: 'panel', 'aria-labelledby': 'week-title' }), h('section', { id: 'canned-panel', class: 'panel', 'aria-labelledby': 'canned-title' }), h('section', { id: 'past-panel', class: 'panel', 'aria-labelledby': 'past-title' }), h('section', { id: 'embed-panel', class: 'panel', 'aria-labelledby': 'embed-title' }));
      const notices = h('div', { id: 'notices', role: 'alert', class: 'notices' });
      root.replaceChildren(notices, shift, queue, convs, side);
      this.renderCanned();
      void this.renderEmbed();
    }
    this.renderShift(shift);
    this.renderQueue(document.getElementById('queue-panel')!);
    this.renderConversations();
    this.renderInbox(document.getElementById('inbox-panel')!);
    this.renderPast(document.getElementById('past-panel')!);
    this.renderWeek(document.getElementById('week-panel')!);
    this.renderNotices(d.notices);
  }

  private renderNotices(notices: DeskNotice[]): void {
    if (notices.length === this.lastNotices_) return;
    this.lastNotices_ = notices.length;
    const el = document.getElementById('notices')!;
    const last = notices.at(-1);
    if (!last) return;
    const key = ('notice_' + last.kind) as StringKey;
    const detail = last.kind === 'transfer_refused' ? this.transferReason(last.detail) : (last.detail ?? '');
    el.textContent = this.t(key, { id: last.conversationId ?? '', detail });
  }

  /** Why a transfer was refused, in words (the error name stays for the rare other cases). */
  private transferReason(detail: string | undefined): string {
    switch (detail) {
      case 'keys_not_found':
      case 'worker_not_found':
      case 'not_found':
        return this.t('transfer_why_unknown');
      case 'off_shift':
        return this.t('transfer_why_off');
      case 'untrusted_org_key':
      case 'certificate_expired':
      case 'certificate_not_yet_valid':
      case 'authentication_failed':
      case 'malformed_input':
      case 'invalid_public_key':
        return this.t('transfer_why_untrusted');
      default:
        return detail ?? '';
    }
  }

  private renderShift(el: HTMLElement): void {
    const d = this.desk_!;
    const s = d.shift;
    const time = (ms: number) => new Date(ms).toLocaleString(this.lang_, { weekday: 'long', hour: '2-digit', minute: '2-digit' });
    const state = s.state === 'on' ? this.t('shift_on') : s.state === 'holiday' ? this.t('shift_holiday') : this.t('shift_off');
    const extra = s.state === 'on' && s.endsAt ? this.t('shift_ends_at', { time: time(s.endsAt) }) : s.state !== 'on' && s.nextStartAt ? this.t('shift_next_start', { time: time(s.nextStartAt) }) : '';
    const handover = h('select', { id: 'handover' }, h('option', { value: 'colleague', text: this.t('handover_colleague') }), h('option', { value: 'end', text: this.t('handover_end') }));
    const prevHandover = (document.getElementById('handover') as HTMLSelectElement | null)?.value;
    if (prevHandover) handover.value = prevHandover;
    const actions =
      s.state === 'on'
        ? [field('handover', this.t('shift_stop_handover'), handover), h('button', { type: 'button', id: 'shift-stop', text: this.t('shift_stop'), onclick: () => void this.act(() => d.stopShift(handover.value as 'colleague' | 'end')) })]
        : [h('button', { type: 'button', id: 'shift-start', class: 'primary', text: this.t('shift_start'), onclick: () => void this.act(() => d.startShift()) })];
    const holiday =
      s.state === 'holiday'
        ? h('button', { type: 'button', id: 'holiday-off', text: this.t('holiday_off'), onclick: () => void this.act(() => d.setHoliday(false)) })
        : h('button', { type: 'button', id: 'holiday-on', text: this.t('holiday_on'), onclick: () => void this.act(() => d.setHoliday(true)) });
    const notif =
      typeof Notification !== 'undefined' && Notification.permission === 'default'
        ? h('button', { type: 'button', id: 'notifications', text: this.t('notifications_enable'), onclick: () => void Notification.requestPermission().then(() => this.queueRender()) })
        : null;
    replaceChildren(
      el,
      h('h2', { id: 'shift-title', text: this.session_?.displayName ?? '' }),
      h('p', { id: 'shift-state', class: 'shift-' + s.state, role: 'status', text: state }),
      extra ? h('p', { text: extra }) : null,
      ...actions,
      holiday,
      h('p', { class: 'hint', text: this.t('notifications_on') }),
      notif,
      h('button', { type: 'button', id: 'logout', text: this.t('logout'), onclick: () => void this.logout() }),
    );
  }

  /** Runs a desk action and turns a refusal into a visible sentence. */
  private async act(f: () => Promise<unknown>): Promise<void> {
    try {
      await f();
    } catch (e) {
      document.getElementById('notices')!.textContent = this.errorText(e);
    }
  }

  private renderQueue(el: HTMLElement): void {
    const d = this.desk_!;
    const title = h('h2', { id: 'queue-title', text: this.t('queue_title') });
    if (!d.onShift) {
      replaceChildren(el, title, h('p', { text: this.t('queue_off') }));
      return;
    }
    const now = Date.now();
    const items = d.queue.map((q) =>
      h(
        'li',
        { class: q.urgent ? 'urgent' : '' },
        h('span', { class: 'badge', text: q.urgent ? this.t('queue_urgent') : '' }),
        h('span', { text: `${q.returning ? this.t('queue_returning') : this.t('queue_new')}, ${this.t('queue_waiting_since', { minutes: Math.max(0, Math.floor((now - q.joinedAt) / 60_000)) })}` }),
        h('button', { type: 'button', id: `take-${q.ticketId}`, text: this.t('queue_take'), onclick: () => void this.act(() => this.takeAndFocus(q.ticketId)) }),
      ),
    );
    replaceChildren(
      el,
      title,
      h('p', { id: 'queue-count', text: d.queue.length === 0 ? this.t('queue_empty') : this.t('queue_count', { count: d.queueTotal }) }),
      h('button', { type: 'button', id: 'take-next', class: 'primary', disabled: d.queue.length === 0, text: this.t('queue_take_next'), onclick: () => void this.act(() => this.takeAndFocus()) }),
      items.length ? h('ul', { id: 'queue-list' }, ...items) : null,
    );
  }

  private async takeAndFocus(ticket?: number): Promise<void> {
    const id = await this.desk_!.take(ticket);
    if (id !== undefined) {
      this.renderDesk();
      document.getElementById(`compose-${id}`)?.focus();
    }
  }

  private renderConversations(): void {
    const d = this.desk_!;
    const open = d.openConversations();
    const panes = document.getElementById('panes')!;
    (document.getElementById('conversations-none') as HTMLElement).hidden = open.length > 0;
    const keep = new Set(open.map((c) => c.id));
    // A conversation that just ended stays on screen until the worker closes it.
    for (const [id, pane] of this.panes_) {
      if (!keep.has(id) && !pane.dismissed) keep.add(id);
      if (!keep.has(id)) {
        pane.root.remove();
        this.panes_.delete(id);
      }
    }
    for (const id of keep) {
      let pane = this.panes_.get(id);
      if (!pane) {
        pane = new ConversationPane(this, d, id);
        this.panes_.set(id, pane);
        panes.append(pane.root);
      }
      pane.update();
    }
  }

  /** The translator, for the panes. */
  get tr(): (key: StringKey, params?: Record<string, string | number>) => string {
    return this.t;
  }

  /** The console's language. */
  get lang(): Lang {
    return this.lang_;
  }

  /** Speaks a short text through the polite live region. */
  say(text: string): void {
    this.announce(text);
  }

  /** Forgets a closed pane. */
  dismiss(id: number): void {
    const pane = this.panes_.get(id);
    if (pane) pane.dismissed = true;
    this.renderConversations();
    document.getElementById('main')?.focus();
  }

  private renderInbox(el: HTMLElement): void {
    const d = this.desk_!;
    const rating = (r: InboxEntryView['rating']): StringKey => (r === 'helped' ? 'rating_helped' : r === 'somewhat' ? 'rating_somewhat' : r === 'not_helped' ? 'rating_not_helped' : 'rating_none');
    const items = d.inbox.map((i) => {
      const labelId = `inbox-label-${i.inboxId}`;
      const kind = i.kind === 'feedback' ? this.t('inbox_kind_feedback') : this.t('inbox_kind_message');
      return h(
        'li',
        { id: `inbox-${i.inboxId}`, class: 'inbox-entry ' + i.kind },
        h('p', { id: labelId, class: 'inbox-head' }, h('strong', { text: kind }), ' · ' + this.t('inbox_received', { date: new Date(i.receivedAt).toLocaleString(this.lang_) })),
        i.kind === 'feedback' ? h('p', { class: 'rating', text: this.t(rating(i.rating)) }) : null,
        // Her words as plain text, never markup (CRYPTO.md §17.8).
        i.unreadable !== undefined ? h('p', { class: 'error', text: this.t('inbox_unreadable', { detail: i.unreadable }) }) : i.text ? h('p', { class: 'sealed-text', text: i.text }) : null,
        h(
          'div',
          { class: 'inbox-actions' },
          i.kind === 'message'
            ? h('button', { type: 'button', id: `answer-${i.inboxId}`, 'aria-describedby': labelId, disabled: !d.onShift, text: this.t('inbox_answer'), onclick: () => void this.act(() => this.answerAndFocus(i.inboxId)) })
            : null,
          h('button', {
            type: 'button',
            id: `dismiss-${i.inboxId}`,
            'aria-describedby': labelId,
            disabled: !d.onShift,
            text: this.t('inbox_dismiss'),
            onclick: () =>
              void this.act(async () => {
                if (await d.dismissInbox(i.inboxId)) this.announce(this.t('inbox_dismissed'));
                document.getElementById('inbox-refresh')?.focus();
              }),
          }),
        ),
      );
    });
    replaceChildren(
      el,
      h('h2', { id: 'inbox-title', text: this.t('inbox_title') }),
      d.inboxUnread > 0 ? h('p', { id: 'inbox-unread', text: this.t('inbox_unread', { count: d.inboxUnread }) }) : null,
      d.inbox.length > 0 && !d.onShift ? h('p', { class: 'hint', text: this.t('inbox_off') }) : null,
      h('button', { type: 'button', id: 'inbox-refresh', text: this.t('inbox_refresh'), onclick: () => void this.act(() => d.refreshInbox()) }),
      items.length ? h('ul', { id: 'inbox-list' }, ...items) : h('p', { text: this.t('inbox_empty') }),
    );
  }

  private async answerAndFocus(inboxId: number): Promise<void> {
    const id = await this.desk_!.answerInbox(inboxId);
    if (id !== undefined) {
      this.renderDesk();
      this.announce(this.t('inbox_answered'));
      document.getElementById(`compose-${id}`)?.focus();
    }
  }

  /** The week ahead as the schedule says, in the schedule's time zone (shift.week). */
  private renderWeek(el: HTMLElement): void {
    const week = this.desk_!.week;
    const key = week ? JSON.stringify(week) + this.lang_ : this.lang_;
    if (el.dataset['shown'] === key) return; // unchanged: keep the reader's place
    el.dataset['shown'] = key;
    const list = (id: string, title: StringKey, lines: string[], none: StringKey | null) =>
      lines.length === 0 && none === null
        ? null
        : h('div', {}, h('h3', { id: `${id}-title`, text: this.t(title) }), lines.length ? h('ul', { id, 'aria-labelledby': `${id}-title` }, ...lines.map((l) => h('li', { text: l }))) : h('p', { id, text: this.t(none!) }));
    if (!week) {
      replaceChildren(el, h('h2', { id: 'week-title', text: this.t('week_title') }), h('p', { text: this.t('week_loading') }));
      return;
    }
    const lines = weekLines(week, this.lang_);
    replaceChildren(
      el,
      h('h2', { id: 'week-title', text: this.t('week_title') }),
      h('p', { class: 'hint', text: this.t('week_zone', { zone: week.timeZone }) }),
      list('week-mine', 'week_mine', lines.mine, 'week_mine_none'),
      list('week-open', 'week_open', lines.open, 'week_open_none'),
      list('week-closed', 'week_closed', lines.closed, null),
    );
  }

  private renderPast(el: HTMLElement): void {
    const d = this.desk_!;
    const past = d.pastConversations().slice(0, 20);
    const openIds = new Set([...el.querySelectorAll('details[open]')].map((x) => x.id));
    replaceChildren(
      el,
      h('h2', { id: 'past-title', text: this.t('past_title') }),
      h(
        'ul',
        { id: 'past-list' },
        ...past.map((c) => {
          const note = d.noteFor(c.id);
          return h(
            'li',
            {},
            h(
              'details',
              { id: `past-${c.id}`, open: openIds.has(`past-${c.id}`) },
              h('summary', { text: this.t('conversation_label', { id: c.id }) + ' · ' + c.messages.length }),
              c.prechat ? h('p', { class: 'sealed-text' }, h('strong', { text: this.t('prechat_title') + ' : ' }), c.prechat) : null,
              c.inboxText ? h('p', { class: 'sealed-text' }, h('strong', { text: this.t('inbox_left_title') + ' : ' }), c.inboxText) : null,
              h('ol', { class: 'log' }, ...c.messages.map((m) => h('li', { class: 'msg ' + m.sender }, h('span', { class: 'who', text: (m.sender === 'worker' ? this.t('me') : this.t('them')) + ' : ' }), h('span', { class: 'text', text: m.text || this.t('from_other_device') })))),
              note ? h('p', { class: 'note-text' }, h('strong', { text: this.t('note_title') + ' : ' }), note) : null,
              h('button', { type: 'button', id: `print-${c.id}`, text: this.t('export_print'), onclick: () => this.printTranscript(c.id) }),
            ),
          );
        }),
      ),
    );
  }

  private renderCanned(): void {
    const d = this.desk_!;
    const el = document.getElementById('canned-panel')!;
    const title = h('input', { maxlength: 64 });
    const text = h('textarea', { rows: 3 });
    const list = h(
      'ul',
      { id: 'canned-list' },
      ...d.vault.canned.map((r) => h('li', {}, h('span', { text: r.title }), h('button', { type: 'button', text: this.t('canned_delete') + ' — ' + r.title, onclick: () => { d.deleteCanned(r.id); this.renderCanned(); } }))),
    );
    replaceChildren(
      el,
      h('h2', { id: 'canned-title', text: this.t('canned_title') }),
      list,
      h(
        'form',
        {
          id: 'canned-form',
          onsubmit: (ev: Event) => {
            ev.preventDefault();
            if (d.saveCanned(title.value, text.value)) {
              this.renderCanned();
              this.renderConversations();
              document.getElementById('canned-new-title')?.focus();
            }
          },
        },
        field('canned-new-title', this.t('canned_name'), title),
        field('canned-new-text', this.t('canned_text'), text),
        h('button', { type: 'submit', text: this.t('canned_add') }),
      ),
    );
  }

  private async renderEmbed(): Promise<void> {
    const el = document.getElementById('embed-panel')!;
    const d = this.desk_!;
    const title = h('h2', { id: 'embed-title', text: this.t('embed_title') });
    if (!d.vault.certificate) return;
    const fingerprint = orgFingerprint(parseWorkerCertificate(d.vault.certificate).certificate.orgPublicKey);
    try {
      const res = await fetch(widgetLoaderPath, { cache: 'no-store' });
      if (!res.ok) throw new Error(String(res.status));
      const integrity = await sriSha384(new Uint8Array(await res.arrayBuffer()));
      const snippet = embedSnippet({ loaderUrl: location.origin + widgetLoaderPath, integrity, serverUrl: location.origin, lang: this.lang_, orgFingerprint: fingerprint });
      const area = h('textarea', { id: 'embed-snippet', readonly: true, rows: 4, value: snippet });
      const done = h('span', { role: 'status' });
      replaceChildren(el, title, h('p', { text: this.t('embed_intro') }), field('embed-snippet', this.t('embed_title'), area), h('button', { type: 'button', text: this.t('embed_copy'), onclick: () => void navigator.clipboard?.writeText(snippet).then(() => { done.textContent = this.t('embed_copied'); }) }), done);
    } catch {
      replaceChildren(el, title, h('p', { text: this.t('embed_unavailable') }), h('p', {}, h('code', { id: 'embed-fingerprint', text: fingerprint })));
    }
  }

  /** Opens the printable transcript in a new window (nothing goes through the server). */
  printTranscript(id: number): void {
    const d = this.desk_!;
    const c = d.vault.conversations.get(id);
    if (!c) return;
    const html = printableTranscript(
      transcriptOf(c, d.noteFor(id)),
      { title: this.t('transcript_title', { id }), printed: this.t('transcript_printed', { date: new Date().toLocaleString(this.lang_) }), me: this.t('me'), them: this.t('them'), note: this.t('note_title'), lang: this.lang_ },
      (ms) => new Date(ms).toLocaleString(this.lang_),
    );
    const url = URL.createObjectURL(new Blob([html], { type: 'text/html' }));
    window.open(url, '_blank', 'noopener');
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }

  /** Downloads the transcript sealed under a passphrase. */
  downloadTranscript(id: number, passphrase: string): void {
    const d = this.desk_!;
    const c = d.vault.conversations.get(id);
    if (!c || passphrase.length === 0) return;
    const bytes = sealTranscript(transcriptOf(c, d.noteFor(id)), passphrase, systemRandom);
    const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
    const a = h('a', { href: url, download: `relais-conversation-${id}.relais` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }

  private async logout(): Promise<void> {
    try {
      await this.desk_?.saveNow();
      await this.link_.request({ type: 'auth.logout' });
    } catch {
      // Leaving anyway: the token dies with the page.
    }
    this.link_.stop();
    this.desk_?.vault.destroy();
    this.desk_ = undefined;
    this.session_ = undefined;
    this.everReady_ = false;
    this.link_ = this.newLink();
    this.showLogin();
  }
}

/** One conversation on the desk, updated in place so that drafts, notes and focus survive. */
class ConversationPane {
  readonly root: HTMLElement;
  dismissed = false;
  private readonly log_: HTMLOListElement;
  private readonly state_: HTMLElement;
  private readonly typing_: HTMLElement;
  private readonly compose_: HTMLTextAreaElement;
  private readonly send_: HTMLButtonElement;
  private readonly canned_: HTMLSelectElement;
  private readonly note_: HTMLTextAreaElement;
  private readonly tools_: HTMLElement;
  /** What she said before the conversation: pre-chat answers, or the message she left. */
  private readonly opening_: HTMLElement;
  private readonly shown_ = new Map<string, HTMLElement>();
  private typingTimer_: ReturnType<typeof setTimeout> | undefined;
  private typingSent_ = false;

  constructor(
    private readonly app_: ConsoleApp,
    private readonly desk_: Desk,
    private readonly id_: number,
  ) {
    const t = app_.tr;
    const id = id_;
    const c = desk_.vault.conversations.get(id)!;
    this.log_ = h('ol', { class: 'messages' });
    this.state_ = h('p', { id: `state-${id}`, class: 'conv-state', role: 'status' });
    this.typing_ = h('p', { id: `typing-${id}`, class: 'typing', 'aria-live': 'polite' });
    this.compose_ = h('textarea', { rows: 3, maxlength: consoleLimits.maxMessageBytes });
    this.send_ = h('button', { type: 'submit', id: `send-${id}`, class: 'primary', text: t('send') });
    this.canned_ = h('select', {});
    this.note_ = h('textarea', { rows: 4, value: desk_.noteFor(id) });
    const noteStatus = h('span', { role: 'status', id: `note-status-${id}` });
    const transferTo = h('input', { type: 'number', min: 1, inputmode: 'numeric' });
    const exportPass = h('input', { type: 'password', autocomplete: 'new-password' });
    const safety = h('p', { id: `safety-${id}`, class: 'safety' });

    this.compose_.addEventListener('input', () => this.onTyping());
    this.compose_.addEventListener('keydown', (ev: KeyboardEvent) => {
      if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
        ev.preventDefault();
        this.send_.click();
      }
    });
    this.canned_.addEventListener('change', () => {
      const r = desk_.vault.canned.find((x) => x.id === this.canned_.value);
      if (r) {
        this.compose_.value = this.compose_.value ? this.compose_.value + '\n' + r.text : r.text;
        this.canned_.value = '';
        this.compose_.focus();
      }
    });
    const composer = h(
      'form',
      {
        class: 'composer',
        onsubmit: (ev: Event) => {
          ev.preventDefault();
          const text = this.compose_.value;
          if (text.trim() === '') return;
          // The text leaves the box only once it is encrypted and kept for resending.
          void desk_.sendText(id, text).then((ok) => {
            if (ok && this.compose_.value === text) this.compose_.value = '';
            this.stopTyping();
            this.compose_.focus();
          });
        },
      },
      field(`compose-${id}`, t('message_label'), this.compose_),
      field(`canned-${id}`, t('canned_insert'), this.canned_),
      this.send_,
    );
    this.tools_ = h(
      'div',
      { class: 'tools' },
      h(
        'form',
        {
          class: 'note',
          onsubmit: (ev: Event) => {
            ev.preventDefault();
            noteStatus.textContent = desk_.setNote(id, this.note_.value) ? t('note_saved') : t('notice_note_too_long');
          },
        },
        field(`note-${id}`, t('note_title'), this.note_),
        h('button', { type: 'submit', id: `note-save-${id}`, text: t('note_save') }),
        noteStatus,
      ),
      h(
        'form',
        {
          class: 'transfer',
          onsubmit: (ev: Event) => {
            ev.preventDefault();
            const to = Number(transferTo.value);
            if (!Number.isSafeInteger(to) || to < 1) return;
            void desk_.transfer(id, to).then((ok) => {
              if (ok) app_.say(t('transfer_done'));
            });
          },
        },
        h('h3', { text: t('transfer_title') }),
        field(`transfer-to-${id}`, t('transfer_to'), transferTo),
        h('button', { type: 'submit', id: `transfer-${id}`, text: t('transfer_button') }),
      ),
      h(
        'div',
        { class: 'export' },
        h('button', { type: 'button', id: `print-open-${id}`, text: t('export_print'), onclick: () => app_.printTranscript(id) }),
        field(`export-pass-${id}`, t('export_passphrase'), exportPass),
        h('button', { type: 'button', id: `export-${id}`, text: t('export_file'), onclick: () => app_.downloadTranscript(id, exportPass.value) }),
      ),
      h(
        'button',
        {
          type: 'button',
          id: `safety-show-${id}`,
          text: t('safety_number'),
          onclick: () => {
            const conv = desk_.vault.conversations.get(id);
            if (conv?.beneficiaryKey) safety.textContent = formatSafetyNumber(safetyNumber(desk_.vault.identity.publicKey, fromBase64Url(conv.beneficiaryKey)));
          },
        },
      ),
      safety,
      h(
        'button',
        {
          type: 'button',
          id: `end-${id}`,
          class: 'danger',
          text: t('end_conversation'),
          onclick: () => {
            if (window.confirm(t('end_confirm'))) void desk_.end(id).catch(() => undefined);
          },
        },
      ),
    );
    const title = t('conversation_label', { id }) + (c.urgent ? ' · ' + t('queue_urgent') : '') + (c.returning ? ' · ' + t('queue_returning') : '');
    this.opening_ = h('div', { id: `opening-${id}`, class: 'opening' });
    this.root = h(
      'article',
      { id: `conversation-${id}`, class: 'pane', 'aria-labelledby': `conv-title-${id}` },
      h('h3', { id: `conv-title-${id}`, text: title }),
      this.state_,
      this.opening_,
      // role=log on a wrapper: on the list itself it would hide the list semantics of its items.
      h('div', { id: `log-${id}`, class: 'log', role: 'log', 'aria-live': 'polite', 'aria-label': t('conversation_label', { id }), tabindex: '0' }, this.log_),
      this.typing_,
      composer,
      this.tools_,
    );
    this.root.addEventListener('focusin', () => desk_.markRead(id));
  }

  private onTyping(): void {
    if (!this.typingSent_ && this.desk_.isSecured(this.id_)) {
      this.typingSent_ = true;
      this.desk_.typingChanged(this.id_, true);
    }
    if (this.typingTimer_ !== undefined) clearTimeout(this.typingTimer_);
    this.typingTimer_ = setTimeout(() => this.stopTyping(), consoleLimits.typingIdleMs);
  }

  private stopTyping(): void {
    if (this.typingTimer_ !== undefined) clearTimeout(this.typingTimer_);
    this.typingTimer_ = undefined;
    if (this.typingSent_) {
      this.typingSent_ = false;
      this.desk_.typingChanged(this.id_, false);
    }
  }

  /** Brings the pane in line with the desk's state. */
  update(): void {
    const t = this.app_.tr;
    const c = this.desk_.vault.conversations.get(this.id_);
    if (!c) return;
    for (const m of c.messages) {
      let li = this.shown_.get(m.clientMsgId);
      const who = m.sender === 'worker' ? t('me') : t('them');
      const delivery = m.delivery ? t(('delivery_' + m.delivery) as StringKey) : '';
      if (!li) {
        li = h('li', { class: 'msg ' + m.sender }, h('span', { class: 'who', text: who + ' : ' }), h('span', { class: 'text', text: m.text || t('from_other_device') }), h('span', { class: 'meta' }));
        this.shown_.set(m.clientMsgId, li);
        this.log_.append(li);
      }
      const meta = li.querySelector('.meta')!;
      const metaText = (m.seq ? new Date(m.sentAt).toLocaleTimeString(this.app_.lang, { hour: '2-digit', minute: '2-digit' }) : '') + (delivery ? ' · ' + delivery : '');
      if (meta.textContent !== metaText) meta.textContent = metaText;
    }
    const opening = (c.prechat ? 'p:' + c.prechat : '') + (c.inboxText ? 'i:' + c.inboxText : '');
    if (this.opening_.dataset['shown'] !== opening) {
      this.opening_.dataset['shown'] = opening;
      // Her words as plain text, never markup (CRYPTO.md §17.8).
      this.opening_.replaceChildren(
        ...(c.prechat ? [h('h4', { text: t('prechat_title') }), h('p', { class: 'sealed-text', id: `prechat-${this.id_}`, text: c.prechat })] : []),
        ...(c.inboxText ? [h('h4', { text: t('inbox_left_title') }), h('p', { class: 'sealed-text', id: `inbox-text-${this.id_}`, text: c.inboxText })] : []),
      );
    }
    const state = !c.open
      ? c.transferredTo
        ? t('conversation_transferred', { worker: c.transferredTo })
        : t('conversation_ended')
      : !c.session
        ? c.inboxId !== undefined
          ? t('conversation_inbox_waiting')
          : t('conversation_waiting_first')
        : c.transferredFrom
          ? t('conversation_transferred_from', { worker: c.transferredFrom })
          : '';
    if (this.state_.textContent !== state) this.state_.textContent = state;
    const typing = this.desk_.typing.has(this.id_) ? t('conversation_typing') : '';
    if (this.typing_.textContent !== typing) this.typing_.textContent = typing;
    this.send_.disabled = !this.desk_.canWrite(this.id_);
    this.compose_.readOnly = !c.open;
    const options = [t('canned_none'), ...this.desk_.vault.canned.map((r) => r.id)].join('|');
    if (this.canned_.dataset['options'] !== options) {
      this.canned_.dataset['options'] = options;
      this.canned_.replaceChildren(h('option', { value: '', text: t('canned_none') }), ...this.desk_.vault.canned.map((r) => h('option', { value: r.id, text: r.title })));
    }
    if (!c.open && !this.root.querySelector('.close-pane')) {
      this.root.append(h('button', { type: 'button', class: 'close-pane', id: `close-${this.id_}`, text: '×  ' + t('conversation_label', { id: this.id_ }), onclick: () => this.app_.dismiss(this.id_) }));
    }
  }
}

/** Keys of the catalogue (for tests that walk every screen). */
export const allStringKeys = Object.keys(catalogues.fr) as StringKey[];
