/** wrangler.toml's text with `id` as the `database_id` of the [[d1_databases]] table whose binding is `binding`. */
export function withDatabaseId(text: string, binding: string, id: string): string;
/** The URL to call after a deploy, from the `targets` of wrangler's `deploy` output entry. */
export function deployedUrl(targets: string[], fallback?: string): string | undefined;
