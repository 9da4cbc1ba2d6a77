// The two functions of workerd's `node:url` (nodejs_compat) the worker uses, without
// pulling all of @types/node into the worker's types.
declare module "node:url" {
  /** A domain in its ASCII form (IDNA through UTS #46, as URLs do); "" when invalid. */
  export function domainToASCII(domain: string): string;
  /** A domain in its Unicode form, A-labels decoded; "" when invalid. */
  export function domainToUnicode(domain: string): string;
}
