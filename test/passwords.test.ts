import { compare, getRounds, hash } from "bcryptjs";
import { describe, expect, it } from "vitest";
import { checkPassword, hashPassword, unmatchableHash } from "../src/identity/passwords";
import { isCommonPassword, passwordBytes, passwordChars } from "../src/platform/password-rules";

const PRECOMPOSED = "\u00c7\u00f6\u00f1f\u00efrm\u00e9-p\u00e4ssw\u00f6rd"; // Çöñfïrmé-pässwörd
const DECOMPOSED = PRECOMPOSED.normalize("NFD");

describe("passwords", () => {
  it("hashes with bcrypt at the requested cost and checks", async () => {
    const passwordHash = await hashPassword("s3cret-pass", 5);
    expect(getRounds(passwordHash)).toBe(5);
    expect(await checkPassword("s3cret-pass", passwordHash, 5)).toEqual({ valid: true, rehash: false });
    expect(await checkPassword("s3cret-pasS", passwordHash, 5)).toEqual({ valid: false, rehash: false });
    expect(await checkPassword("s3cret-pass", passwordHash, 4)).toEqual({ valid: true, rehash: true });
  });

  it("counts length in UTF-8 bytes and in code points", () => {
    expect(passwordBytes("abc")).toBe(3);
    expect(passwordBytes("é")).toBe(2);
    expect(passwordBytes("🙌")).toBe(4);
    expect(passwordChars("🔑🔑")).toBe(2);
    expect(passwordChars("e\u0301")).toBe(2);
    expect(passwordChars("e\u0301".normalize("NFC"))).toBe(1);
  });

  it("hashes the NFC form, so either form typed later matches", async () => {
    expect(DECOMPOSED).not.toBe(PRECOMPOSED);
    const passwordHash = await hashPassword(DECOMPOSED, 4);
    expect(await compare(PRECOMPOSED, passwordHash)).toBe(true);
    for (const typed of [PRECOMPOSED, DECOMPOSED]) {
      expect(await checkPassword(typed, passwordHash, 4)).toEqual({ valid: true, rehash: false });
    }
  });

  it("still accepts a hash made before normalization from the form it was made of, and asks for a rehash", async () => {
    // An old hash of the decomposed form, exactly as the client sent it.
    const legacy = await hash(DECOMPOSED, 4);
    expect(await checkPassword(DECOMPOSED, legacy, 4)).toEqual({ valid: true, rehash: true });
    // The other form was never hashed: it cannot match until the rehash to NFC.
    expect(await checkPassword(PRECOMPOSED, legacy, 4)).toEqual({ valid: false, rehash: false });
    expect(await checkPassword(`${DECOMPOSED}x`, legacy, 4)).toEqual({ valid: false, rehash: false });
  });

  it("never compares a form over 72 bytes for real", async () => {
    const long = "a".repeat(80);
    const passwordHash = await hash(long, 4); // bcrypt reads the first 72 bytes only
    expect(await checkPassword(long, passwordHash, 4)).toEqual({ valid: false, rehash: false });
  });

  it("runs real comparisons at the configured cost when there is no account", async () => {
    // A well-formed hash at the same cost makes bcrypt do the full work, which is
    // what keeps unknown emails as slow as known ones.
    expect(getRounds(unmatchableHash(10))).toBe(10);
    expect(await compare("anything", unmatchableHash(4))).toBe(false);
    expect(await checkPassword("anything", undefined, 4)).toEqual({ valid: false, rehash: false });
    expect(await checkPassword(DECOMPOSED, undefined, 4)).toEqual({ valid: false, rehash: false });
  });

  it("checks common passwords in any letter case and Unicode form", () => {
    expect(isCommonPassword("PASSWORD")).toBe(true);
    expect(isCommonPassword("correct horse battery staple")).toBe(false);
  });
});
