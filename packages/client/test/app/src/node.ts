// Node: `node out/node.js <api> <ttl-ms>` prints the flow's result as JSON (body transport).
import { flow } from "./flow.js";

declare const process: { argv: string[] };

const [baseUrl, ttl] = process.argv.slice(2);
if (!baseUrl || !ttl) throw new Error("usage: node out/node.js <api> <ttl-ms>");
console.log(JSON.stringify(await flow(baseUrl, "body", Number(ttl))));
