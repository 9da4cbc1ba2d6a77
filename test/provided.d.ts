import "vitest";

declare module "vitest" {
  // Provided by test/support/mail-setup.ts (Node) to the workerd tests.
  export interface ProvidedContext {
    /** The SMTP_URL of a real SMTP server (maildev) the worker sends to over cloudflare:sockets. */
    smtpUrl: string;
    /** That server's REST API, where tests read what was sent. */
    mailApi: string;
    /** Client ID metadata documents served from Node on loopback (test/support/client-documents.ts):
     * `<documentsUrl>/<kind>/<anything>`, kind good, no-store, big, redirect, slow, ... */
    documentsUrl: string;
  }
}
