import { afterEach } from "vitest";
import { takeAnswered } from "./helpers";

// Each test's error answers ("POST /register user_exists"), in its meta: the JSON report
// carries them out of workerd, and scripts/test.mjs compares them with the codes each
// route's OpenAPI description lists (scripts/answered-codes.mjs).
afterEach(({ task }) => {
  const answered = takeAnswered();
  if (answered.length > 0) task.meta.answered = answered;
});
