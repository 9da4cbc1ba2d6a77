// Types for src/rules.mjs.
import type * as z from "zod/mini";

export const REQUIRED: "All input is required";
export const MAX_EMAIL_LENGTH: 254;
export function emailChecks(): z.core.$ZodCheck<string>[];
export function newEmailChecks(): z.core.$ZodCheck<string>[];
export function nameChecks(field: string): z.core.$ZodCheck<string>[];
