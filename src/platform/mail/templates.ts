import type { MailConfig } from "../config";
import type { Message } from "./send";

/** The link a mail carries: `APP_URL` (when set) or `PUBLIC_URL`, plus `path?token=`.
 * Built from configuration only, never from a request header. */
export function linkTo(mail: MailConfig, path: string, token: string): string {
  return `${mail.appUrl ?? mail.publicUrl}${path}?token=${encodeURIComponent(token)}`;
}

/** Escapes text for HTML element content and quoted attributes. */
export function escapeHtml(value: string): string {
  return value.replace(
    /[&<>"']/g,
    (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch] ?? ch,
  );
}

/** "1 hour", "24 hours", "30 minutes". */
export function lifetime(seconds: number): string {
  const [amount, unit] = seconds % 3600 === 0 ? [seconds / 3600, "hour"] : [Math.ceil(seconds / 60), "minute"];
  return `${amount} ${unit}${amount === 1 ? "" : "s"}`;
}

type Parts = {
  to: string;
  subject: string;
  greeting: string;
  /** Paragraphs, plain text (escaped for HTML here). */
  lines: string[];
  action?: { label: string; link: string; lifetime: string };
  notMe: string;
};

/** One message with its text and HTML parts built from the same plain-text pieces, signed
 * and subject-prefixed with `appName` (`APP_NAME`, `Config.appName`). */
function compose(appName: string, parts: Parts): Message {
  const { action } = parts;
  const text = [
    parts.greeting,
    ...parts.lines,
    ...(action ? [`${action.label}: ${action.link}`, `This link works once, for ${action.lifetime}.`] : []),
    parts.notMe,
    `— ${appName}`,
  ].join("\n\n");
  const paragraph = (line: string) => `<p>${escapeHtml(line)}</p>`;
  const html = [
    "<!doctype html>",
    '<html><body style="font-family:sans-serif;line-height:1.5">',
    paragraph(parts.greeting),
    ...parts.lines.map(paragraph),
    ...(action
      ? [
          `<p><a href="${escapeHtml(action.link)}">${escapeHtml(action.label)}</a></p>`,
          paragraph(`Or open this address: ${action.link}`),
          paragraph(`This link works once, for ${action.lifetime}.`),
        ]
      : []),
    paragraph(parts.notMe),
    paragraph(`— ${appName}`),
    "</body></html>",
  ].join("\n");
  return { to: parts.to, subject: `${appName}: ${parts.subject}`, text, html };
}

type Recipient = { email: string; firstName: string };

/** Asks the owner of a (new) account's address to prove it. */
export function verifyEmailMail(appName: string, user: Recipient, link: string, seconds: number): Message {
  return compose(appName, {
    to: user.email,
    subject: "confirm your email address",
    greeting: `Hello ${user.firstName},`,
    lines: [`Please confirm that ${user.email} is your address for ${appName}.`],
    action: { label: "Confirm my email address", link, lifetime: lifetime(seconds) },
    notMe: "If this wasn't you, ignore this mail: nothing changes unless the link is used.",
  });
}

/** A password-reset link for a known, enabled account. */
export function resetPasswordMail(appName: string, user: Recipient, link: string, seconds: number): Message {
  return compose(appName, {
    to: user.email,
    subject: "reset your password",
    greeting: `Hello ${user.firstName},`,
    lines: [`Someone asked to reset the password of your ${appName} account.`],
    action: { label: "Choose a new password", link, lifetime: lifetime(seconds) },
    notMe:
      "If this wasn't you, ignore this mail: your password stays as it is. Setting a new one signs out every device.",
  });
}

/** The confirmation link of an email change, sent to the new address. */
export function changeEmailMail(
  appName: string,
  user: Recipient,
  newEmail: string,
  link: string,
  seconds: number,
): Message {
  return compose(appName, {
    to: newEmail,
    subject: "confirm your new email address",
    greeting: `Hello ${user.firstName},`,
    lines: [`Please confirm that ${newEmail} should become the address of your ${appName} account.`],
    action: { label: "Confirm my new email address", link, lifetime: lifetime(seconds) },
    notMe: "If this wasn't you, ignore this mail: the account keeps its address unless the link is used.",
  });
}

/** Tells the current address that a change to another one was asked for (no link). */
export function changeRequestedMail(appName: string, user: Recipient): Message {
  return compose(appName, {
    to: user.email,
    subject: "a change of your email address was requested",
    greeting: `Hello ${user.firstName},`,
    lines: [
      `Someone signed in to your ${appName} account asked to move it to another email address. It changes only when the link sent to that address is used.`,
    ],
    notMe: "If this wasn't you, change your password now: whoever asked knows it.",
  });
}

/** Tells the old address that the account moved to another one. */
export function emailChangedMail(appName: string, user: Recipient, oldEmail: string): Message {
  return compose(appName, {
    to: oldEmail,
    subject: "your email address was changed",
    greeting: `Hello ${user.firstName},`,
    lines: [`Your ${appName} account no longer uses ${oldEmail}: its address was changed.`],
    notMe: `If this wasn't you, contact the ${appName} team at once.`,
  });
}

/** An emailed sign-in (POST /login/email): the 6-digit `code` and/or the `link`, which
 * app and which device asked (`device`: the client's User-Agent and IP address, already
 * made inert by the caller), and how to ignore it. */
export function emailLoginMail(
  appName: string,
  user: Recipient,
  { code, link, seconds, device }: { code?: string; link?: string; seconds: number; device: string },
): Message {
  return compose(appName, {
    to: user.email,
    subject: code ? `your sign-in code is ${code}` : "your sign-in link",
    greeting: `Hello ${user.firstName},`,
    lines: [
      `Someone asked to sign in to ${appName} as ${user.email}, from ${device}.`,
      ...(code
        ? [`Your sign-in code: ${code}`, `It works once, for ${lifetime(seconds)}. Never tell it to anyone.`]
        : []),
    ],
    ...(link ? { action: { label: "Sign in", link, lifetime: lifetime(seconds) } } : {}),
    notMe:
      "If this wasn't you, ignore this mail: nobody can sign in without the code or the link in it, and they stop working on their own. A newer request replaces them.",
  });
}
