// The browser: the page exposes the flow (cookie transport) for the test to run.
import { flow } from "./flow.js";

(globalThis as { runFlow?: typeof flow }).runFlow = flow;
document.body.dataset.ready = "true";
