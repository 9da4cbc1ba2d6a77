import { MailDev } from "maildev";
import { freePort } from "./processes";

/** A real SMTP server with maildev's REST API, on free loopback ports. STARTTLS is
 * hidden: its certificate is self-signed, and a worker would rightly refuse it. */
export async function startMailCatcher(): Promise<{ smtpUrl: string; api: string; stop: () => Promise<void> }> {
  const [smtp, web] = [await freePort(), await freePort()];
  const maildev = new MailDev({
    smtp,
    web,
    ip: "127.0.0.1",
    webIp: "127.0.0.1",
    hideExtensions: ["STARTTLS"],
    silent: true,
  });
  await maildev.start();
  return { smtpUrl: `smtp://127.0.0.1:${smtp}`, api: `http://127.0.0.1:${web}`, stop: () => maildev.stop() };
}
