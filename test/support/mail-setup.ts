/// <reference path="../provided.d.ts" />
import type { TestProject } from "vitest/node";
import { startMailCatcher } from "./mail-catcher";

/** Runs in Node before the workerd tests: one mail catcher for the whole run. */
export default async function setup(project: TestProject) {
  const catcher = await startMailCatcher();
  project.provide("smtpUrl", catcher.smtpUrl);
  project.provide("mailApi", catcher.api);
  return () => catcher.stop();
}
