/**
 * The one French/English string catalogue of the web clients. French is the default; every key
 * exists in both languages (the type of `en` says so, and a test checks the placeholders
 * match). Plain words: the widget is read by seniors and by people in distress.
 * Placeholders are `{name}`; `t()` fills them. Keys are grouped by screen.
 */

export type Lang = 'fr' | 'en';

const fr = {
  // common
  'app.title': 'Permanence d’écoute',
  'app.neutral_title': 'Informations',
  'exit.button': 'Quitter rapidement',
  'exit.hint': 'Appuyez trois fois sur Maj pour quitter rapidement.',
  'close.button': 'Réduire',
  'launcher.open': 'Besoin de parler ? Écrivez-nous',
  'launcher.close': 'Fermer la fenêtre de discussion',
  'settings.large_text': 'Texte agrandi',
  'settings.high_contrast': 'Contraste élevé',
  'settings.language': 'English',
  'settings.language_label': 'Read in English',
  'retry.button': 'Réessayer',
  'back.button': 'Retour',
  'safety.notice':
    'Vos messages sont chiffrés de bout en bout : seule la personne qui vous répond peut les lire. Rien n’est gardé sur cet appareil. Si quelqu’un peut voir votre écran, utilisez « Quitter rapidement ».',
  // connection
  'conn.connecting': 'Connexion en cours…',
  'conn.lost': 'La connexion est interrompue. Nouvelle tentative dans {s} s.',
  'conn.lost_now': 'La connexion est interrompue. Nouvelle tentative…',
  'conn.unreachable':
    'Le service ne répond pas pour le moment. Ce que vous avez écrit est gardé et partira dès le retour de la connexion.',
  'conn.update': 'Cette page est trop ancienne. Rechargez-la pour continuer.',
  'conn.stopped': 'La connexion est fermée.',
  // status
  'status.heading': 'Permanence d’écoute',
  'status.open': 'Nous sommes là. Quelqu’un peut vous répondre maintenant.',
  'status.busy': 'Nous sommes là, mais tout le monde est occupé. Vous pouvez attendre votre tour.',
  'status.closed': 'La permanence est fermée pour le moment.',
  'status.unknown': 'Vous pouvez commencer une discussion ou reprendre une discussion avec votre code.',
  'status.next_opening': 'Prochaine ouverture : {when}.',
  'status.wait': 'Attente estimée : {wait}.',
  'status.workers': '{n} personne(s) de permanence.',
  'status.start': 'Commencer une discussion',
  'status.leave_message': 'Laisser un message',
  'status.resume': 'J’ai un code de reprise',
  'status.queue_full': 'Il y a beaucoup d’attente en ce moment. Vous pouvez laisser un message, nous vous répondrons.',
  'emergency.heading': 'En cas d’urgence',
  'emergency.sms': '(par SMS)',
  'emergency.call': 'Appeler le {number}',
  'emergency.text': 'Écrire au {number}',
  // pre-chat
  'prechat.heading': 'Avant de commencer',
  'prechat.intro': 'Toutes les questions sont facultatives.',
  'prechat.name': 'Votre prénom ou un pseudonyme',
  'prechat.name_hint': 'Vous pouvez rester anonyme.',
  'prechat.urgent_legend': 'Est-ce urgent ?',
  'prechat.urgent_yes': 'Oui, c’est urgent',
  'prechat.urgent_no': 'Non, je peux attendre',
  'prechat.mode_legend': 'Comment voulez-vous être aidé·e ?',
  'prechat.mode_chat': 'Discuter par écrit maintenant',
  'prechat.mode_callback': 'Être rappelé·e',
  'prechat.mode_video': 'Appel vidéo',
  'prechat.phone': 'Votre numéro de téléphone',
  'prechat.phone_hint': 'Il est chiffré : seule la personne qui vous répond le verra.',
  'prechat.phone_invalid': 'Ce numéro ne semble pas complet. Vérifiez-le, ou choisissez une autre façon d’être aidé·e.',
  'prechat.submit': 'Rejoindre la file d’attente',
  'prechat.summary_name': 'Prénom : {name}',
  'prechat.summary_callback': 'Souhaite être rappelé·e au {phone}',
  'prechat.summary_video': 'Souhaite un appel vidéo',
  'prechat.summary_urgent': 'Urgent',
  // waiting
  'waiting.heading': 'Vous êtes en attente',
  'waiting.position': 'Votre place dans la file : {n}.',
  'waiting.position_first': 'Vous êtes la prochaine personne.',
  'waiting.estimate': 'Attente estimée : {wait}.',
  'waiting.write_now': 'Vous pouvez déjà écrire votre premier message. Il partira dès que quelqu’un vous répondra.',
  'waiting.leave': 'Quitter la file',
  'waiting.inbox_offer': 'L’attente est longue. Vous pouvez aussi laisser un message et revenir plus tard.',
  'waiting.timeout_closed': 'La permanence vient de fermer. Vous pouvez laisser un message.',
  'waiting.timeout_wait': 'Personne n’a pu vous répondre à temps. Vous pouvez laisser un message.',
  'waiting.closed': 'La permanence est fermée, personne ne peut vous répondre maintenant.',
  'waiting.queue_full': 'La file d’attente est complète.',
  // chat
  'chat.heading': 'Discussion avec {name}',
  'chat.verified': 'Professionnelle vérifiée',
  'chat.verified_hint': 'Son identité est certifiée par l’organisation.',
  'chat.log_label': 'Messages',
  'chat.input_label': 'Votre message',
  'chat.send': 'Envoyer',
  'chat.sending': 'En cours d’envoi',
  'chat.sent': 'Envoyé',
  'chat.delivered': 'Reçu',
  'chat.read': 'Lu',
  'chat.failed': 'Pas envoyé',
  'chat.you': 'Vous',
  'chat.typing': '{name} écrit…',
  'chat.joined': '{name} vous répond.',
  'chat.securing': 'Mise en place du chiffrement…',
  'chat.end': 'Terminer la discussion',
  'chat.end_confirm': 'Voulez-vous vraiment terminer la discussion ?',
  'chat.end_yes': 'Oui, terminer',
  'chat.end_no': 'Non, continuer',
  'chat.safety_show': 'Vérifier le chiffrement',
  'chat.safety_hide': 'Masquer le numéro de sécurité',
  'chat.safety_explain':
    'Comparez ce numéro avec celui de votre interlocutrice (par exemple au téléphone). S’il est identique, personne d’autre ne peut lire la discussion.',
  'chat.safety_changed':
    'Attention : le numéro de sécurité a changé. Vérifiez-le avant de continuer à écrire des choses personnelles.',
  'chat.undecryptable': 'Un message n’a pas pu être déchiffré.',
  'chat.untrusted':
    'Attention : l’identité de la personne qui répond n’a pas pu être vérifiée. Par sécurité, rien n’a été envoyé. Si vous êtes en danger, appelez un numéro d’urgence.',
  'chat.transferred': 'La discussion continue avec {name}.',
  'chat.rejected': 'Ce message a été refusé par le serveur. Il est resté dans la zone de saisie.',
  'chat.ended_worker': 'La discussion a été terminée par {name}.',
  'chat.ended_you': 'Vous avez terminé la discussion.',
  'chat.ended_shift': 'La permanence se termine. La discussion est close.',
  'chat.ended_inactivity': 'La discussion a été close après un long silence.',
  // end
  'end.heading': 'Merci d’avoir écrit',
  'end.feedback_legend': 'Cette discussion vous a-t-elle aidé·e ?',
  'end.feedback_yes': 'Oui',
  'end.feedback_some': 'Un peu',
  'end.feedback_no': 'Non',
  'end.feedback_thanks': 'Merci pour votre retour.',
  'end.contribution': 'Ce service est à prix libre. Si vous le souhaitez, vous pouvez contribuer.',
  'end.contribution_link': 'Contribuer (nouvelle fenêtre)',
  'end.new': 'Nouvelle discussion',
  'end.close': 'Fermer',
  // resume code
  'resume.offer': 'Obtenir un code de reprise',
  'resume.offer_hint':
    'Avec ce code, vous pourrez reprendre cette discussion plus tard, même sur un autre appareil. Toute personne qui connaît le code peut lire la discussion : gardez-le pour vous.',
  'resume.your_code': 'Votre code de reprise',
  'resume.copy_hint': 'Notez-le dans un endroit sûr. Il ne sera plus affiché.',
  'resume.enter_heading': 'Reprendre une discussion',
  'resume.enter_label': 'Votre code de reprise (12 caractères)',
  'resume.enter_submit': 'Reprendre',
  'resume.bad_code': 'Ce code n’est pas complet. Il a 12 caractères, par exemple ABCD-EFGH-JKMN.',
  'resume.not_found': 'Aucune discussion ne correspond à ce code. Vérifiez-le.',
  'resume.working': 'Vérification du code…',
  'resume.saved': 'Code enregistré.',
  // inbox
  'inbox.heading': 'Laisser un message',
  'inbox.intro': 'Écrivez votre message. L’équipe le lira à la prochaine permanence et vous répondra ici, avec votre code de reprise.',
  'inbox.label': 'Votre message',
  'inbox.send': 'Envoyer le message',
  'inbox.sent': 'Votre message est bien arrivé. Notez votre code de reprise pour lire la réponse.',
  'inbox.unavailable': 'Il n’est pas possible de laisser un message pour le moment. En cas d’urgence, appelez un des numéros ci-dessous.',
  // errors
  'error.fingerprint':
    'Attention : ce service n’a pas pu être vérifié. Par sécurité, la discussion est bloquée. Si vous êtes en danger, appelez un numéro d’urgence.',
  'error.rate_limited': 'Vous écrivez très vite : votre message partira dans un instant.',
  'error.generic': 'Un problème est survenu. Réessayez dans un instant.',
  // durations
  'duration.minutes': '{n} min',
  'duration.less_minute': 'moins d’une minute',
  'duration.hours': '{h} h {m} min',
} as const;

/** Every key of the catalogue. */
export type StringKey = keyof typeof fr;

const en: Record<StringKey, string> = {
  'app.title': 'Listening line',
  'app.neutral_title': 'Information',
  'exit.button': 'Quick exit',
  'exit.hint': 'Press Shift three times to leave quickly.',
  'close.button': 'Minimise',
  'launcher.open': 'Need to talk? Write to us',
  'launcher.close': 'Close the chat window',
  'settings.large_text': 'Larger text',
  'settings.high_contrast': 'High contrast',
  'settings.language': 'Français',
  'settings.language_label': 'Lire en français',
  'retry.button': 'Try again',
  'back.button': 'Back',
  'safety.notice':
    'Your messages are end-to-end encrypted: only the person answering you can read them. Nothing is kept on this device. If someone can see your screen, use “Quick exit”.',
  'conn.connecting': 'Connecting…',
  'conn.lost': 'The connection was lost. Trying again in {s} s.',
  'conn.lost_now': 'The connection was lost. Trying again…',
  'conn.unreachable': 'The service is not answering right now. What you wrote is kept and will be sent as soon as the connection is back.',
  'conn.update': 'This page is out of date. Reload it to continue.',
  'conn.stopped': 'The connection is closed.',
  'status.heading': 'Listening line',
  'status.open': 'We are here. Someone can answer you now.',
  'status.busy': 'We are here, but everyone is busy. You can wait for your turn.',
  'status.closed': 'The listening line is closed at the moment.',
  'status.unknown': 'You can start a conversation or continue one with your code.',
  'status.next_opening': 'Next opening: {when}.',
  'status.wait': 'Estimated wait: {wait}.',
  'status.workers': '{n} person(s) on call.',
  'status.start': 'Start a conversation',
  'status.leave_message': 'Leave a message',
  'status.resume': 'I have a resume code',
  'status.queue_full': 'Many people are waiting right now. You can leave a message and we will answer.',
  'emergency.heading': 'In an emergency',
  'emergency.sms': '(by text message)',
  'emergency.call': 'Call {number}',
  'emergency.text': 'Text {number}',
  'prechat.heading': 'Before we start',
  'prechat.intro': 'Every question is optional.',
  'prechat.name': 'Your first name or a nickname',
  'prechat.name_hint': 'You can stay anonymous.',
  'prechat.urgent_legend': 'Is it urgent?',
  'prechat.urgent_yes': 'Yes, it is urgent',
  'prechat.urgent_no': 'No, I can wait',
  'prechat.mode_legend': 'How would you like to be helped?',
  'prechat.mode_chat': 'Chat in writing now',
  'prechat.mode_callback': 'Be called back',
  'prechat.mode_video': 'Video call',
  'prechat.phone': 'Your phone number',
  'prechat.phone_hint': 'It is encrypted: only the person answering you will see it.',
  'prechat.phone_invalid': 'This number does not look complete. Check it, or choose another way to be helped.',
  'prechat.submit': 'Join the queue',
  'prechat.summary_name': 'First name: {name}',
  'prechat.summary_callback': 'Would like to be called back on {phone}',
  'prechat.summary_video': 'Would like a video call',
  'prechat.summary_urgent': 'Urgent',
  'waiting.heading': 'You are waiting',
  'waiting.position': 'Your place in the queue: {n}.',
  'waiting.position_first': 'You are next.',
  'waiting.estimate': 'Estimated wait: {wait}.',
  'waiting.write_now': 'You can already write your first message. It will be sent as soon as someone answers you.',
  'waiting.leave': 'Leave the queue',
  'waiting.inbox_offer': 'The wait is long. You can also leave a message and come back later.',
  'waiting.timeout_closed': 'The listening line has just closed. You can leave a message.',
  'waiting.timeout_wait': 'Nobody could answer you in time. You can leave a message.',
  'waiting.closed': 'The listening line is closed, nobody can answer you right now.',
  'waiting.queue_full': 'The queue is full.',
  'chat.heading': 'Conversation with {name}',
  'chat.verified': 'Verified professional',
  'chat.verified_hint': 'Their identity is certified by the organisation.',
  'chat.log_label': 'Messages',
  'chat.input_label': 'Your message',
  'chat.send': 'Send',
  'chat.sending': 'Sending',
  'chat.sent': 'Sent',
  'chat.delivered': 'Received',
  'chat.read': 'Read',
  'chat.failed': 'Not sent',
  'chat.you': 'You',
  'chat.typing': '{name} is writing…',
  'chat.joined': '{name} is answering you.',
  'chat.securing': 'Setting up encryption…',
  'chat.end': 'End the conversation',
  'chat.end_confirm': 'Do you really want to end the conversation?',
  'chat.end_yes': 'Yes, end it',
  'chat.end_no': 'No, continue',
  'chat.safety_show': 'Check the encryption',
  'chat.safety_hide': 'Hide the safety number',
  'chat.safety_explain':
    'Compare this number with the one the person answering you sees (for example over the phone). If it is the same, nobody else can read the conversation.',
  'chat.safety_changed': 'Warning: the safety number has changed. Check it before writing anything personal.',
  'chat.undecryptable': 'A message could not be decrypted.',
  'chat.untrusted':
    'Warning: the identity of the person answering could not be verified. To be safe, nothing was sent. If you are in danger, call an emergency number.',
  'chat.transferred': 'The conversation continues with {name}.',
  'chat.rejected': 'The server refused this message. It is still in the text box.',
  'chat.ended_worker': '{name} ended the conversation.',
  'chat.ended_you': 'You ended the conversation.',
  'chat.ended_shift': 'The listening line is closing. The conversation is over.',
  'chat.ended_inactivity': 'The conversation was closed after a long silence.',
  'end.heading': 'Thank you for writing',
  'end.feedback_legend': 'Did this conversation help you?',
  'end.feedback_yes': 'Yes',
  'end.feedback_some': 'A little',
  'end.feedback_no': 'No',
  'end.feedback_thanks': 'Thank you for your feedback.',
  'end.contribution': 'This service is pay-what-you-want. If you wish, you can contribute.',
  'end.contribution_link': 'Contribute (new window)',
  'end.new': 'New conversation',
  'end.close': 'Close',
  'resume.offer': 'Get a resume code',
  'resume.offer_hint':
    'With this code you can continue this conversation later, even on another device. Anyone who knows the code can read the conversation: keep it to yourself.',
  'resume.your_code': 'Your resume code',
  'resume.copy_hint': 'Write it down somewhere safe. It will not be shown again.',
  'resume.enter_heading': 'Continue a conversation',
  'resume.enter_label': 'Your resume code (12 characters)',
  'resume.enter_submit': 'Continue',
  'resume.bad_code': 'This code is not complete. It has 12 characters, for example ABCD-EFGH-JKMN.',
  'resume.not_found': 'No conversation matches this code. Check it.',
  'resume.working': 'Checking the code…',
  'resume.saved': 'Code saved.',
  'inbox.heading': 'Leave a message',
  'inbox.intro': 'Write your message. The team will read it at the next shift and answer you here, with your resume code.',
  'inbox.label': 'Your message',
  'inbox.send': 'Send the message',
  'inbox.sent': 'Your message has arrived. Write down your resume code to read the answer.',
  'inbox.unavailable': 'You cannot leave a message right now. In an emergency, call one of the numbers below.',
  'error.fingerprint':
    'Warning: this service could not be verified. To be safe, the conversation is blocked. If you are in danger, call an emergency number.',
  'error.rate_limited': 'You are writing very fast: your message will go in a moment.',
  'error.generic': 'Something went wrong. Try again in a moment.',
  'duration.minutes': '{n} min',
  'duration.less_minute': 'less than a minute',
  'duration.hours': '{h} h {m} min',
};

/** The catalogue, by language. */
export const catalogue: Record<Lang, Record<StringKey, string>> = { fr, en };

/** The string `key` in `lang` with its `{placeholders}` filled. */
export function t(lang: Lang, key: StringKey, params: Record<string, string | number> = {}): string {
  return catalogue[lang][key].replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in params ? String(params[name]) : whole,
  );
}

/** `fr` unless `value` names English ("en", "en-GB"...). French is the default. */
export function parseLang(value: string | null | undefined): Lang {
  return value && /^en\b/i.test(value) ? 'en' : 'fr';
}

/** A wait in seconds in plain words: "moins d’une minute", "12 min", "1 h 05 min". */
export function formatWait(lang: Lang, seconds: number): string {
  if (seconds < 60) return t(lang, 'duration.less_minute');
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return t(lang, 'duration.minutes', { n: minutes });
  return t(lang, 'duration.hours', { h: Math.floor(minutes / 60), m: String(minutes % 60).padStart(2, '0') });
}

/** A date and time in the person's language, e.g. "lundi 5 janvier à 09:00". */
export function formatWhen(lang: Lang, epochMs: number, timeZone?: string): string {
  return new Intl.DateTimeFormat(lang === 'fr' ? 'fr-FR' : 'en-GB', {
    weekday: 'long',
    day: 'numeric',
    month: 'long',
    hour: '2-digit',
    minute: '2-digit',
    ...(timeZone ? { timeZone } : {}),
  }).format(new Date(epochMs));
}
