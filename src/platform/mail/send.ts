import type { Context } from "hono";
import { LogLevel, WorkerMailer } from "worker-mailer";
import type { MailConfig } from "../config";
import type { AppEnv } from "../env";
import { log } from "../log";

/** One mail: a single recipient, a subject, and the same content as text and HTML. */
export type Message = { to: string; subject: string; text: string; html: string };

/** What the mail was for, in log lines (never its link or address). */
export type MailKind =
  | "verify_email"
  | "reset_password"
  | "change_email"
  | "email_change_notice"
  | "email_changed"
  | "email_login";

const HEADER_UNSAFE = /\p{Cc}/u;
const SMTP_TIMEOUT_MS = 10_000;

/** Sends `message` through the transport `MAIL_TRANSPORT` chose. Throws on a refused or
 * failed delivery, and on a recipient or subject that is not one plain line (no header
 * injection, whatever a caller passes). */
export async function sendMail(env: { EMAIL?: SendEmail }, mail: MailConfig, message: Message): Promise<void> {
  if (HEADER_UNSAFE.test(message.to) || HEADER_UNSAFE.test(message.subject)) {
    throw new Error("a mail header would hold a control character");
  }
  const { to, subject, text, html } = message;
  switch (mail.transport) {
    case "smtp": {
      const server = mail.smtp;
      if (!server) throw new Error("SMTP_URL is not configured");
      await WorkerMailer.send(
        {
          host: server.host,
          port: server.port,
          secure: server.secure,
          startTls: !server.secure,
          credentials: server.credentials,
          authType: ["plain", "login"],
          logLevel: LogLevel.NONE,
          socketTimeoutMs: SMTP_TIMEOUT_MS,
          responseTimeoutMs: SMTP_TIMEOUT_MS,
        },
        { from: mail.from, to: { email: to }, subject, text, html },
      );
      return;
    }
    case "cloudflare": {
      if (!env.EMAIL) throw new Error("the EMAIL send_email binding is missing");
      const from = mail.from.name ? { email: mail.from.email, name: mail.from.name } : mail.from.email;
      await env.EMAIL.send({ from, to, subject, text, html });
      return;
    }
    default:
      throw new Error("mail is off (MAIL_TRANSPORT=none)");
  }
}

/** Runs `job` after the response has gone (`waitUntil`), so nothing it does (a lookup,
 * a write, a mail) shows in the answer or its timing. A failure is logged, not thrown. */
export function afterResponse<E extends AppEnv>(c: Context<E>, event: string, job: () => Promise<void>): void {
  const running = job().catch((err: unknown) => {
    log(c, "error", event, failure(err));
  });
  try {
    c.executionCtx.waitUntil(running);
  } catch {
    // No execution context: only `app.request` in a test without one. The job still runs.
  }
}

/** Sends `message` (inside `afterResponse`): a failure is logged with the recipient's
 * domain only, never the address, link or token, and tried once more. */
export async function deliver<E extends AppEnv>(c: Context<E>, kind: MailKind, message: Message): Promise<void> {
  const domain = message.to.slice(message.to.lastIndexOf("@") + 1);
  for (const attempt of [1, 2]) {
    try {
      await sendMail(c.env, c.var.config.mail, message);
      return;
    } catch (err) {
      log(c, attempt === 1 ? "warn" : "error", "mail_failed", { kind, domain, attempt, ...failure(err) });
    }
  }
}

/** An error's name and first line, with every address in it cut down to its domain. */
function failure(err: unknown): { error: string; detail?: string } {
  if (!(err instanceof Error)) return { error: typeof err };
  const line = err.message.split("\n")[0]?.slice(0, 300) ?? "";
  return { error: err.name, detail: line.replace(/[^\s<>"'@:,;]+@/g, "…@") };
}
