import { compare, getRounds } from "bcryptjs";
import { describe, expect, it } from "vitest";
import { burnPasswordCheck, hashPassword, passwordBytes, unmatchableHash, verifyPassword } from "../src/auth/passwords";

describe("passwords", () => {
  it("hashes with bcrypt at the requested cost and verifies", async () => {
    const hash = await hashPassword("s3cret-pass", 5);
    expect(getRounds(hash)).toBe(5);
    expect(await verifyPassword("s3cret-pass", hash)).toBe(true);
    expect(await verifyPassword("s3cret-pasS", hash)).toBe(false);
  });

  it("counts length in UTF-8 bytes", () => {
    expect(passwordBytes("abc")).toBe(3);
    expect(passwordBytes("é")).toBe(2);
    expect(passwordBytes("🙌")).toBe(4);
  });

  it("runs a real comparison at the configured cost when there is no account", async () => {
    // A well-formed hash at the same cost makes bcrypt do the full work, which is
    // what keeps unknown emails as slow as known ones.
    expect(getRounds(unmatchableHash(10))).toBe(10);
    expect(await compare("anything", unmatchableHash(4))).toBe(false);
    expect(await burnPasswordCheck("anything", 4)).toBe(false);
  });
});
