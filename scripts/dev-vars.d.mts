/** Creates or completes .dev.vars at `path`; resolves to what it did, or `undefined`. */
export function fillDevVars(path: string): Promise<string | undefined>;
