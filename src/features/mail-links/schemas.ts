import * as z from "zod/mini";
import { doc, named } from "../../platform/openapi/describe";

/** The answer of a route that mails a link, the same whatever the outcome. */
export const accepted = named(
  "Accepted",
  z.object({ message: doc(z.string(), "For people; the same whatever the outcome") }),
);
