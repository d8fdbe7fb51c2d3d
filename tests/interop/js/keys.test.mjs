// atrest vault (keys API) driven by the official Azure SDK for JavaScript
// (@azure/keyvault-keys + @azure/identity). Run with `npm test` (node --test).
//
// The server contract comes from ATREST_* environment variables (see ../README.md); the CA
// certificate from NODE_EXTRA_CA_CERTS, which node reads once at start-up.
//
// Local vs remote crypto (dist/esm/cryptographyClient.js): a CryptographyClient built from a key id
// GETs the key, then does encrypt / wrapKey with RSA1_5 and RSA-OAEP (not RSA-OAEP-256) and
// verifyData LOCALLY; everything else goes to the server. remoteOnly() below builds the client
// from a KeyVaultKey without key material, so every operation goes to the server.

import { describe, it, before } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { ClientSecretCredential } from "@azure/identity";
import { CryptographyClient, KeyClient } from "@azure/keyvault-keys";

// ------------------------------------------------------------------------------- contract

const REQUIRED_ENV = [
  "ATREST_AUTHORITY",
  "ATREST_VAULT_URL",
  "ATREST_TENANT_ID",
  "ATREST_CLIENT_ID",
  "ATREST_CLIENT_SECRET",
  "ATREST_LIMITED_CLIENT_ID",
  "ATREST_LIMITED_CLIENT_SECRET",
  "ATREST_PROTECTED_VAULT_URL",
  "NODE_EXTRA_CA_CERTS",
];
const missing = REQUIRED_ENV.filter((name) => !process.env[name]);
if (missing.length > 0) {
  // Fail the run loudly; never skip.
  throw new Error(
    `atrest interop: required environment variables are not set: ${missing.join(", ")} ` +
      "(see tests/interop/README.md)",
  );
}

const strip = (u) => u.replace(/\/+$/, "");
const ENV = {
  authority: strip(process.env.ATREST_AUTHORITY),
  vaultUrl: strip(process.env.ATREST_VAULT_URL),
  protectedVaultUrl: strip(process.env.ATREST_PROTECTED_VAULT_URL),
  tenantId: process.env.ATREST_TENANT_ID,
  clientId: process.env.ATREST_CLIENT_ID,
  clientSecret: process.env.ATREST_CLIENT_SECRET,
  limitedClientId: process.env.ATREST_LIMITED_CLIENT_ID,
  limitedClientSecret: process.env.ATREST_LIMITED_CLIENT_SECRET,
};

// authorityHost: atrest's token endpoint; disableInstanceDiscovery: no Azure AD discovery call.
function makeCredential(clientId, clientSecret) {
  return new ClientSecretCredential(ENV.tenantId, clientId, clientSecret, {
    authorityHost: ENV.authority,
    disableInstanceDiscovery: true,
  });
}

// disableChallengeResourceVerification: the challenge resource can never be a parent domain of
// "localhost" / "127.0.0.1", so the SDK's check would always fail.
const CLIENT_OPTIONS = { disableChallengeResourceVerification: true };
const makeKeyClient = (url, cred) => new KeyClient(url, cred, { ...CLIENT_OPTIONS });
const makeCryptoClient = (keyOrKid, cred) =>
  new CryptographyClient(keyOrKid, cred, { ...CLIENT_OPTIONS });

/** A CryptographyClient that sends every operation to the server (no key material => no local provider). */
function remoteOnly(key, cred) {
  return makeCryptoClient(
    { id: key.id, name: key.name, properties: { name: key.name, vaultUrl: key.properties.vaultUrl } },
    cred,
  );
}

const credential = makeCredential(ENV.clientId, ENV.clientSecret);
const limitedCredential = makeCredential(ENV.limitedClientId, ENV.limitedClientSecret);
const client = makeKeyClient(ENV.vaultUrl, credential);
const protectedClient = makeKeyClient(ENV.protectedVaultUrl, credential);
const limitedClient = makeKeyClient(ENV.vaultUrl, limitedCredential);

// ------------------------------------------------------------------------------- helpers

const ALL_OPS = ["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"];
const ENC_ALGS = ["RSA-OAEP", "RSA-OAEP-256"];
const SIG_ALGS = {
  RS256: { hash: "sha256", pss: false },
  RS384: { hash: "sha384", pss: false },
  RS512: { hash: "sha512", pss: false },
  PS256: { hash: "sha256", pss: true },
  PS384: { hash: "sha384", pss: true },
  PS512: { hash: "sha512", pss: true },
};

const uniqueName = (tag) => `js-${tag}-${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
const b64url = (bytes) => Buffer.from(bytes).toString("base64url");
const fromB64url = (s) => new Uint8Array(Buffer.from(s, "base64url"));
const bytesEqual = (a, b) => Buffer.from(a).equals(Buffer.from(b));
const nowSeconds = () => new Date(Math.floor(Date.now() / 1000) * 1000);
const days = (n) => n * 24 * 3600 * 1000;
const sameTime = (a, b) => a instanceof Date && b instanceof Date && a.getTime() === b.getTime();
const sorted = (xs) => [...xs].sort();

function publicKeyOf(key) {
  return crypto.createPublicKey({
    key: { kty: "RSA", n: b64url(key.key.n), e: b64url(key.key.e) },
    format: "jwk",
  });
}

function oaepEncrypt(pub, alg, data) {
  return crypto.publicEncrypt(
    {
      key: pub,
      padding: crypto.constants.RSA_PKCS1_OAEP_PADDING,
      oaepHash: alg === "RSA-OAEP-256" ? "sha256" : "sha1",
    },
    data,
  );
}

/** Checks `signature` over `data` (whose digest the vault signed) with node's crypto. */
function localVerify(pub, alg, data, signature) {
  const { hash, pss } = SIG_ALGS[alg];
  const digestLen = crypto.createHash(hash).digest().length;
  const keyOpts = pss
    ? { key: pub, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: digestLen }
    : { key: pub, padding: crypto.constants.RSA_PKCS1_PADDING };
  return crypto.verify(hash, data, keyOpts, signature);
}

function localRsaJwk(keyOps = ALL_OPS) {
  const { privateKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
  const j = privateKey.export({ format: "jwk" });
  const jwk = { kty: "RSA", keyOps };
  for (const f of ["n", "e", "d", "p", "q", "dp", "dq", "qi"]) jwk[f] = fromB64url(j[f]);
  return { jwk, privateKey, publicKey: crypto.createPublicKey(privateKey) };
}

/** Asserts that `promise` rejects with a RestError of the given status (or any 4xx) and code. */
async function rejectsWith(promise, { status, code } = {}, what = "") {
  await assert.rejects(promise, (err) => {
    assert.equal(err.name, "RestError", `${what}: expected a RestError, got ${err.name}: ${err.message}`);
    if (status !== undefined) {
      assert.equal(err.statusCode, status, `${what}: ${err.statusCode} ${err.code} ${err.message}`);
    } else {
      assert.ok(
        err.statusCode >= 400 && err.statusCode < 500,
        `${what}: expected 4xx, got ${err.statusCode}: ${err.message}`,
      );
    }
    assert.ok(err.code, `${what}: error body has no code (${err.message})`);
    if (code !== undefined) assert.equal(err.code, code, `${what}: ${err.message}`);
    return true;
  });
}

function assertRsaKey(key, vaultUrl, name, size) {
  assert.equal(key.name, name);
  assert.equal(key.properties.vaultUrl, vaultUrl);
  assert.ok(key.properties.version, "kid must carry a version");
  assert.equal(key.id, `${vaultUrl}/keys/${name}/${key.properties.version}`);
  assert.equal(key.key.kid, key.id);
  assert.equal(key.keyType, "RSA");
  if (size !== undefined) assert.equal(key.key.n.length, size / 8, "n: unsigned big-endian, no leading zero");
  assert.ok(bytesEqual(key.key.e, [1, 0, 1]));
  for (const f of ["d", "p", "q", "dp", "dq", "qi", "k"]) {
    assert.equal(key.key[f], undefined, `private part ${f} returned`);
  }
  assert.ok(key.properties.createdOn instanceof Date);
  assert.ok(key.properties.updatedOn instanceof Date);
}

async function deleteAndWait(kc, name) {
  const poller = await kc.beginDeleteKey(name, { intervalInMs: 250 });
  return poller.pollUntilDone();
}

async function collectPages(iterable, maxPageSize) {
  const pages = [];
  for await (const page of iterable.byPage(maxPageSize ? { maxPageSize } : undefined)) pages.push(page);
  return pages;
}

async function collect(iterable) {
  const out = [];
  for await (const item of iterable) out.push(item);
  return out;
}

// ------------------------------------------------------------------------------- tests

describe("create, import, get", () => {
  for (const size of [2048, 3072, 4096]) {
    it(`creates an RSA ${size} key`, async () => {
      const name = uniqueName(`rsa${size}`);
      const key = await client.createRsaKey(name, { keySize: size });
      assertRsaKey(key, ENV.vaultUrl, name, size);
      assert.equal(key.properties.enabled, true);
      assert.match(key.properties.recoveryLevel, /Recoverable/);
      const got = await client.getKey(name);
      assert.equal(got.id, key.id);
      assert.ok(bytesEqual(got.key.n, key.key.n));
    });
  }

  it("creates a key with ops, tags, enabled, notBefore, expiresOn", async () => {
    const name = uniqueName("opts");
    const notBefore = new Date(nowSeconds().getTime() - days(1));
    const expiresOn = new Date(nowSeconds().getTime() + days(365));
    const tags = { purpose: "interop", sdk: "js" };
    const key = await client.createRsaKey(name, {
      keySize: 2048,
      keyOps: ["wrapKey", "unwrapKey"],
      tags,
      enabled: true,
      notBefore,
      expiresOn,
    });
    assertRsaKey(key, ENV.vaultUrl, name, 2048);
    assert.deepEqual(sorted(key.keyOperations), ["unwrapKey", "wrapKey"]);
    assert.deepEqual(key.properties.tags, tags);
    assert.ok(sameTime(key.properties.notBefore, notBefore));
    assert.ok(sameTime(key.properties.expiresOn, expiresOn));
    const got = await client.getKey(name);
    assert.deepEqual(got.properties.tags, tags);
    assert.ok(sameTime(got.properties.expiresOn, expiresOn));
  });

  it("rejects an unsupported key size with 400", async () => {
    await rejectsWith(client.createRsaKey(uniqueName("bad"), { keySize: 1024 }), { status: 400 });
  });

  it("imports a key and never returns its private parts", async () => {
    const name = uniqueName("import");
    const { jwk, publicKey } = localRsaJwk();
    const key = await client.importKey(name, jwk, { tags: { source: "local" } });
    assertRsaKey(key, ENV.vaultUrl, name, 2048);
    assert.ok(bytesEqual(key.key.n, jwk.n));
    assert.deepEqual(key.properties.tags, { source: "local" });
    // The server holds the imported private key.
    const ct = oaepEncrypt(publicKey, "RSA-OAEP-256", Buffer.from("imported secret"));
    const dec = await makeCryptoClient(key.id, credential).decrypt({ algorithm: "RSA-OAEP-256", ciphertext: ct });
    assert.equal(Buffer.from(dec.result).toString(), "imported secret");
  });

  it("gets the latest version and a given version", async () => {
    const name = uniqueName("ver");
    const v1 = await client.createRsaKey(name, { keySize: 2048 });
    const v2 = await client.createRsaKey(name, { keySize: 2048 });
    assert.notEqual(v1.properties.version, v2.properties.version);
    assert.equal((await client.getKey(name)).id, v2.id);
    const old = await client.getKey(name, { version: v1.properties.version });
    assert.equal(old.id, v1.id);
    assert.ok(bytesEqual(old.key.n, v1.key.n));
  });

  it("answers 404 KeyNotFound for a missing key", async () => {
    await rejectsWith(client.getKey(uniqueName("missing")), { status: 404, code: "KeyNotFound" });
  });
});

describe("list with paging", () => {
  it("lists all versions across pages", async () => {
    const name = uniqueName("versions");
    const { jwk } = localRsaJwk();
    const versions = new Set();
    for (let i = 0; i < 26; i++) versions.add((await client.importKey(name, jwk)).properties.version);
    assert.equal(versions.size, 26);

    const all = await collect(client.listPropertiesOfKeyVersions(name));
    assert.deepEqual(sorted(all.map((p) => p.version)), sorted(versions));
    for (const p of all) assert.equal(p.id, `${ENV.vaultUrl}/keys/${name}/${p.version}`);

    const pages = await collectPages(client.listPropertiesOfKeyVersions(name), 5);
    assert.ok(pages.length >= 6, `expected >= 6 pages, got ${pages.length}`);
    assert.ok(pages.every((p) => p.length <= 5), pages.map((p) => p.length).join(","));
    assert.deepEqual(sorted(pages.flat().map((p) => p.version)), sorted(versions));
  });

  it("lists keys (latest, versionless ids) and deleted keys across pages", async () => {
    const tag = crypto.randomUUID();
    const names = [uniqueName("l0"), uniqueName("l1"), uniqueName("l2")];
    const { jwk } = localRsaJwk();
    for (const n of names) await client.importKey(n, jwk, { tags: { batch: tag } });

    const pages = await collectPages(client.listPropertiesOfKeys(), 2);
    assert.ok(pages.length >= 2 && pages.every((p) => p.length <= 2));
    const ours = pages.flat().filter((p) => names.includes(p.name));
    assert.deepEqual(sorted(ours.map((p) => p.name)), sorted(names));
    for (const p of ours) {
      assert.equal(p.id, `${ENV.vaultUrl}/keys/${p.name}`);
      assert.equal(p.version, undefined);
      assert.deepEqual(p.tags, { batch: tag });
    }

    for (const n of names) await deleteAndWait(client, n);
    const deletedPages = await collectPages(client.listDeletedKeys(), 2);
    assert.ok(deletedPages.every((p) => p.length <= 2));
    const deleted = deletedPages.flat().filter((d) => names.includes(d.name));
    assert.deepEqual(sorted(deleted.map((d) => d.name)), sorted(names));
    for (const d of deleted) {
      assert.equal(d.properties.recoveryId, `${ENV.vaultUrl}/deletedkeys/${d.name}`);
      assert.ok(d.properties.deletedOn instanceof Date);
      assert.ok(d.properties.scheduledPurgeDate > d.properties.deletedOn);
    }
  });
});

describe("update", () => {
  it("updates enabled, dates, ops and tags without a new version", async () => {
    const name = uniqueName("update");
    const key = await client.createRsaKey(name, { keySize: 2048, tags: { a: "1" } });
    const notBefore = new Date(nowSeconds().getTime() - days(1));
    const expiresOn = new Date(nowSeconds().getTime() + days(90));
    const updated = await client.updateKeyProperties(name, key.properties.version, {
      enabled: false,
      notBefore,
      expiresOn,
      keyOps: ["sign", "verify"],
      tags: { b: "2" },
    });
    assert.equal(updated.id, key.id);
    assert.equal(updated.properties.enabled, false);
    assert.ok(sameTime(updated.properties.notBefore, notBefore));
    assert.ok(sameTime(updated.properties.expiresOn, expiresOn));
    assert.deepEqual(sorted(updated.keyOperations), ["sign", "verify"]);
    assert.deepEqual(updated.properties.tags, { b: "2" });

    // Version-less update (PATCH /keys/{name}/) of one field keeps the others.
    const again = await client.updateKeyProperties(name, { enabled: true });
    assert.equal(again.id, key.id);
    assert.equal(again.properties.enabled, true);
    assert.ok(sameTime(again.properties.expiresOn, expiresOn));
    assert.deepEqual(again.properties.tags, { b: "2" });
  });
});

describe("delete, recover, purge", () => {
  it("deletes, gets the deleted key, recovers", async () => {
    const name = uniqueName("recover");
    const key = await client.createRsaKey(name, { keySize: 2048 });
    const deleted = await deleteAndWait(client, name);
    assert.equal(deleted.name, name);
    assert.equal(deleted.properties.recoveryId, `${ENV.vaultUrl}/deletedkeys/${name}`);
    await rejectsWith(client.getKey(name), { status: 404 });
    const got = await client.getDeletedKey(name);
    assert.equal(got.id, key.id);
    assert.ok(got.properties.scheduledPurgeDate instanceof Date);

    const poller = await client.beginRecoverDeletedKey(name, { intervalInMs: 250 });
    const recovered = await poller.pollUntilDone();
    assert.equal(recovered.id, key.id);
    assert.equal((await client.getKey(name)).id, key.id);
    await rejectsWith(client.getDeletedKey(name), { status: 404 });
  });

  it("purges a deleted key and frees the name", async () => {
    const name = uniqueName("purge");
    await client.createRsaKey(name, { keySize: 2048 });
    await deleteAndWait(client, name);
    await client.purgeDeletedKey(name);
    await rejectsWith(client.getDeletedKey(name), { status: 404 });
    const again = await client.createRsaKey(name, { keySize: 2048 });
    assert.equal(again.name, name);
  });

  it("refuses to create over a deleted, unpurged name (409)", async () => {
    const name = uniqueName("conflict");
    await client.createRsaKey(name, { keySize: 2048 });
    await deleteAndWait(client, name);
    await rejectsWith(client.createRsaKey(name, { keySize: 2048 }), { status: 409 });
  });

  it("refuses purge under purge protection", async () => {
    const name = uniqueName("protected");
    const key = await protectedClient.createRsaKey(name, { keySize: 2048 });
    assert.ok(key.id.startsWith(`${ENV.protectedVaultUrl}/keys/`), key.id);
    assert.doesNotMatch(key.properties.recoveryLevel ?? "", /Purgeable/);
    await deleteAndWait(protectedClient, name);
    await rejectsWith(protectedClient.purgeDeletedKey(name), {}, "purge");
    assert.equal((await protectedClient.getDeletedKey(name)).id, key.id);
  });
});

describe("backup and restore", () => {
  it("restores after delete + purge, refuses over an existing name", async () => {
    const name = uniqueName("backup");
    const v1 = await client.createRsaKey(name, { keySize: 2048 });
    const v2 = await client.createRsaKey(name, { keySize: 2048 });
    const blob = await client.backupKey(name);
    assert.ok(blob instanceof Uint8Array && blob.length > 0);
    await rejectsWith(client.restoreKeyBackup(blob), { status: 409 });

    await deleteAndWait(client, name);
    await client.purgeDeletedKey(name);
    const restored = await client.restoreKeyBackup(blob);
    assert.equal(restored.id, v2.id);
    assert.ok(bytesEqual(restored.key.n, v2.key.n));
    const versions = (await collect(client.listPropertiesOfKeyVersions(name))).map((p) => p.version);
    assert.deepEqual(sorted(versions), sorted([v1.properties.version, v2.properties.version]));
  });
});

describe("rotation", () => {
  it("rotates to a new version", async () => {
    const name = uniqueName("rotate");
    const key = await client.createRsaKey(name, { keySize: 2048 });
    const rotated = await client.rotateKey(name);
    assertRsaKey(rotated, ENV.vaultUrl, name, 2048);
    assert.notEqual(rotated.properties.version, key.properties.version);
    assert.ok(!bytesEqual(rotated.key.n, key.key.n));
    assert.equal((await client.getKey(name)).id, rotated.id);
  });

  it("sets and gets a rotation policy", async () => {
    const name = uniqueName("policy");
    await client.createRsaKey(name, { keySize: 2048 });
    const norm = (p) =>
      sorted(
        p.lifetimeActions.map((a) => `${a.action.toLowerCase()}|${a.timeAfterCreate ?? ""}|${a.timeBeforeExpiry ?? ""}`),
      );
    const expected = sorted(["rotate|P90D|", "notify||P30D"]);
    const set = await client.updateKeyRotationPolicy(name, {
      lifetimeActions: [
        { action: "Rotate", timeAfterCreate: "P90D" },
        { action: "Notify", timeBeforeExpiry: "P30D" },
      ],
      expiresIn: "P1Y",
    });
    assert.deepEqual(norm(set), expected);
    assert.equal(set.expiresIn, "P1Y");
    const got = await client.getKeyRotationPolicy(name);
    assert.deepEqual(norm(got), expected);
    assert.equal(got.expiresIn, "P1Y");
    assert.ok(got.id);
    assert.ok(got.createdOn instanceof Date && got.updatedOn instanceof Date);
  });

  it("rejects an invalid rotation policy with 400", async () => {
    const name = uniqueName("badpolicy");
    await client.createRsaKey(name, { keySize: 2048 });
    await rejectsWith(
      client.updateKeyRotationPolicy(name, {
        lifetimeActions: [{ action: "Rotate", timeAfterCreate: "P1D" }],
        expiresIn: "P1Y",
      }),
      { status: 400 },
    );
  });
});

describe("cryptography", () => {
  let key;
  let remote;
  let hybrid;
  let pub;
  before(async () => {
    key = await client.createRsaKey(uniqueName("crypto"), { keySize: 2048, keyOps: ALL_OPS });
    remote = remoteOnly(key, credential);
    hybrid = makeCryptoClient(key.id, credential);
    pub = publicKeyOf(key);
  });

  for (const alg of ENC_ALGS) {
    it(`encrypts and decrypts with ${alg}`, async () => {
      const plaintext = crypto.randomBytes(32);
      const enc = await remote.encrypt({ algorithm: alg, plaintext });
      assert.equal(enc.result.length, 256);
      const dec = await remote.decrypt({ algorithm: alg, ciphertext: enc.result });
      assert.ok(bytesEqual(dec.result, plaintext));
      // SDK default client (local encrypt for RSA-OAEP, remote for RSA-OAEP-256; remote decrypt).
      const enc2 = await hybrid.encrypt({ algorithm: alg, plaintext });
      assert.ok(bytesEqual((await hybrid.decrypt({ algorithm: alg, ciphertext: enc2.result })).result, plaintext));
      // Encrypted by node's crypto with the key's n/e.
      const ct = oaepEncrypt(pub, alg, plaintext);
      assert.ok(bytesEqual((await remote.decrypt({ algorithm: alg, ciphertext: ct })).result, plaintext));
    });

    it(`wraps and unwraps with ${alg}`, async () => {
      const cek = crypto.randomBytes(32);
      const wrapped = await remote.wrapKey(alg, cek);
      assert.equal(wrapped.result.length, 256);
      assert.ok(bytesEqual((await remote.unwrapKey(alg, wrapped.result)).result, cek));
      const local = await hybrid.wrapKey(alg, cek);
      assert.ok(bytesEqual((await hybrid.unwrapKey(alg, local.result)).result, cek));
      const ct = oaepEncrypt(pub, alg, cek);
      assert.ok(bytesEqual((await remote.unwrapKey(alg, ct)).result, cek));
    });
  }

  for (const [alg, { hash }] of Object.entries(SIG_ALGS)) {
    it(`signs and verifies with ${alg}`, async () => {
      const data = Buffer.from(`message for ${alg} ${crypto.randomUUID()}`);
      const digest = crypto.createHash(hash).update(data).digest();
      const signed = await remote.sign(alg, digest);
      assert.equal(signed.result.length, 256);
      assert.ok(localVerify(pub, alg, data, signed.result), "node crypto rejects the signature");
      assert.equal((await remote.verify(alg, digest, signed.result)).result, true);
      assert.equal((await hybrid.verify(alg, digest, signed.result)).result, true);
      const other = crypto.createHash(hash).update("another message").digest();
      assert.equal((await remote.verify(alg, other, signed.result)).result, false);
      // signData hashes locally and signs remotely.
      const sig2 = (await hybrid.signData(alg, data)).result;
      assert.ok(localVerify(pub, alg, data, sig2));
      // verifyData runs locally with node's PKCS#1 v1.5 verifier (the SDK cannot check PS* locally).
      if (!SIG_ALGS[alg].pss) assert.equal((await hybrid.verifyData(alg, data, sig2)).result, true);
    });
  }

  it("works through KeyClient.getCryptographyClient (version-less: /keys/{name}//op)", async () => {
    const cc = client.getCryptographyClient(key.name);
    const ct = oaepEncrypt(pub, "RSA-OAEP-256", Buffer.from("versionless"));
    const dec = await cc.decrypt({ algorithm: "RSA-OAEP-256", ciphertext: ct });
    assert.equal(Buffer.from(dec.result).toString(), "versionless");
    const digest = crypto.createHash("sha256").update("versionless").digest();
    const sig = (await cc.sign("RS256", digest)).result;
    assert.ok(localVerify(pub, "RS256", Buffer.from("versionless"), sig));
  });

  it("rejects a tampered ciphertext with a 4xx", async () => {
    const ct = oaepEncrypt(pub, "RSA-OAEP-256", Buffer.from("x"));
    ct[0] ^= 1;
    await rejectsWith(remote.decrypt({ algorithm: "RSA-OAEP-256", ciphertext: ct }));
  });
});

describe("random bytes", () => {
  it("returns the requested number of random bytes", async () => {
    const a = await client.getRandomBytes(32);
    const b = await client.getRandomBytes(32);
    assert.equal(a.length, 32);
    assert.equal(b.length, 32);
    assert.ok(!bytesEqual(a, b));
  });
});

describe("key state and authorization", () => {
  async function allOps(key, cc) {
    const p = publicKeyOf(key);
    const digest = crypto.createHash("sha256").update("d").digest();
    return {
      encrypt: () => cc.encrypt({ algorithm: "RSA-OAEP-256", plaintext: Buffer.from("data") }),
      decrypt: () => cc.decrypt({ algorithm: "RSA-OAEP-256", ciphertext: oaepEncrypt(p, "RSA-OAEP-256", Buffer.from("d")) }),
      wrapKey: () => cc.wrapKey("RSA-OAEP", crypto.randomBytes(32)),
      unwrapKey: () => cc.unwrapKey("RSA-OAEP", oaepEncrypt(p, "RSA-OAEP", crypto.randomBytes(32))),
      sign: () => cc.sign("RS256", digest),
      verify: () => cc.verify("RS256", digest, crypto.randomBytes(256)),
    };
  }

  it("refuses crypto on a disabled key; get still works", async () => {
    const name = uniqueName("disabled");
    const key = await client.createRsaKey(name, { keySize: 2048, keyOps: ALL_OPS });
    await client.updateKeyProperties(name, { enabled: false });
    assert.equal((await client.getKey(name)).properties.enabled, false);
    const cc = remoteOnly(key, credential);
    for (const [op, call] of Object.entries(await allOps(key, cc))) {
      await rejectsWith(call(), {}, `disabled ${op}`);
    }
  });

  it("lets the limited principal get and list", async () => {
    const name = uniqueName("limited-read");
    const key = await client.createRsaKey(name, { keySize: 2048 });
    assert.equal((await limitedClient.getKey(name)).id, key.id);
    const versions = await collect(limitedClient.listPropertiesOfKeyVersions(name));
    assert.deepEqual(versions.map((v) => v.version), [key.properties.version]);
    const firstPage = (await limitedClient.listPropertiesOfKeys().byPage().next()).value;
    assert.ok(Array.isArray(firstPage));
  });

  it("forbids the limited principal everything else (403 Forbidden)", async () => {
    const name = uniqueName("limited");
    const key = await client.createRsaKey(name, { keySize: 2048, keyOps: ALL_OPS });
    const cc = remoteOnly(key, limitedCredential);
    const attempts = {
      create: () => limitedClient.createRsaKey(uniqueName("nope"), { keySize: 2048 }),
      update: () => limitedClient.updateKeyProperties(name, { enabled: false }),
      delete: () => limitedClient.beginDeleteKey(name),
      backup: () => limitedClient.backupKey(name),
      rotate: () => limitedClient.rotateKey(name),
      ...Object.fromEntries(Object.entries(await allOps(key, cc)).map(([op, f]) => [`crypto-${op}`, f])),
    };
    for (const [what, call] of Object.entries(attempts)) {
      await rejectsWith(call(), { status: 403, code: "Forbidden" }, what);
    }
    assert.equal((await client.getKey(name)).properties.enabled, true);
  });

  it("fails authentication with a wrong client secret", async () => {
    const bad = makeKeyClient(ENV.vaultUrl, makeCredential(ENV.clientId, `wrong-${crypto.randomUUID()}`));
    await assert.rejects(bad.getKey("any-key"), (err) => {
      assert.match(err.name, /Authentication|Credential/, `${err.name}: ${err.message}`);
      return true;
    });
  });
});
