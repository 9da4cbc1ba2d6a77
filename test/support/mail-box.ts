// Reads a mail catcher (maildev) over its REST API: used by the workerd, HTTP and browser tests.

/** A mail as maildev's `GET /api/email` lists it (the fields the tests read). */
export type CaughtMail = {
  id: string;
  subject: string;
  text: string;
  html: string;
  to: { address: string; name?: string }[];
  from: { address: string; name?: string }[];
  headers: Record<string, string>;
};

/** The mails caught so far for `address`, oldest first. */
export async function mailsTo(api: string, address: string): Promise<CaughtMail[]> {
  const res = await fetch(`${api}/api/email`);
  const all = (await res.json()) as CaughtMail[];
  return all.filter((mail) => mail.to.some((to) => to.address.toLowerCase() === address.toLowerCase()));
}

/** The token of the first link in `text` to `path` (`…/password/reset?token=…`). */
export function tokenIn(text: string, path: string): string | undefined {
  const match = new RegExp(`${path.replace(/\//g, "\\/")}\\?token=([A-Za-z0-9_-]+)`).exec(text);
  return match?.[1];
}
