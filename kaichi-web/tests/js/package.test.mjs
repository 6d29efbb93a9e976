// The kaichi-web package under Node.js: run by tests/package.rs, which
// hands in what the native crates computed (KAICHI_FIXTURE) and checks
// what this writes (KAICHI_OUT).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { walletFromSeed, hexToBytes, bytesToHex } from "./wallet.mjs";

const fixture = JSON.parse(readFileSync(process.env.KAICHI_FIXTURE, "utf8"));
const kaichi = createRequire(import.meta.url)(fixture.pkg);
const out = {};

test("derives the identity the native crates derive, from a wallet signature", async (t) => {
  const a = fixture.alice;
  const wallet = await walletFromSeed(a.seedHex, a.wallet);
  const message = kaichi.derivationMessage(a.wallet, 0);
  assert.equal(bytesToHex(message), a.derivationMessageHex);
  const { signature } = await wallet.signMessage(message);
  out.derivationSignatureHex = bytesToHex(signature);
  const id = kaichi.deriveIdentity(a.wallet, 0, signature);
  assert.equal(id.ipnsName, a.ipnsName);
  assert.equal(id.peerId, a.peerId);
  assert.equal(id.dmPublicKey, a.dmPublicKey);
  assert.equal(id.wallet, a.wallet);

  await t.test("refuses a signature that is not the wallet's", () => {
    const bad = signature.slice();
    bad[0] ^= 1;
    assert.throws(() => kaichi.deriveIdentity(a.wallet, 0, bad), /signature/);
    assert.throws(() => kaichi.deriveIdentity(a.wallet, 0, signature.slice(1)), /64 bytes/);
    assert.throws(() => kaichi.derivationMessage("not base58!", 0));
  });

  await t.test("signs an identity document with the wallet, in two steps", async () => {
    const prepared = id.prepareDocument(fixture.nowMs, 86400);
    const { signature: docSignature } = await wallet.signMessage(prepared.message);
    const document = prepared.finish(docSignature);
    const again = kaichi.verifyDocument(document, fixture.nowMs);
    assert.equal(again.ipnsName, a.ipnsName);
    out.documentHex = bytesToHex(document);
    assert.throws(() => prepared.finish(new Uint8Array(64)));
  });

  await t.test("IPNS records both ways", () => {
    const record = id.ipnsRecord("/ipfs/bafkqaddwgevxmmraojswg33smq", 3n, fixture.nowMs + 3600000);
    out.recordHex = bytesToHex(record);
    const bob = kaichi.validateIpnsRecord(hexToBytes(fixture.bob.recordHex), fixture.bob.ipnsName, fixture.nowMs);
    assert.equal(bob.value, "/ipfs/bafkqaddwgevxmmraojswg33smq");
    assert.equal(bob.sequence, 7n);
    // Bob's record is not Alice's name's.
    assert.throws(() => kaichi.validateIpnsRecord(hexToBytes(fixture.bob.recordHex), a.ipnsName, fixture.nowMs));
  });

  await t.test("a conversation with a native contact", () => {
    const bob = kaichi.verifyDocument(hexToBytes(fixture.bob.documentHex), fixture.nowMs);
    assert.equal(bob.wallet, fixture.bob.wallet);
    const conversation = new kaichi.Conversation(id, bob);
    const entry = hexToBytes(fixture.bob.entryHex);
    assert.equal(conversation.ingest(entry, fixture.bob.entryCid), true);
    assert.equal(conversation.ingest(entry, fixture.bob.entryCid), false);
    // A block changed in transit is refused and changes nothing.
    const bad = entry.slice();
    bad[bad.length - 1] ^= 1;
    assert.throws(() => conversation.ingest(bad, null));
    assert.equal(conversation.length, 1);
    const [first] = conversation.messages(10);
    assert.equal(first.text, "hello from native Bob");
    assert.equal(first.mine, false);
    const reply = conversation.sendText("hi Bob, from the page", fixture.nowMs, fixture.bob.entryCid);
    out.replyCid = reply.cid;
    out.replyHex = bytesToHex(reply.block);
    const view = conversation.messages(10);
    assert.equal(view.length, 2);
    assert.equal(view[0].text, "hi Bob, from the page");
    assert.equal(view[0].replyTo, fixture.bob.entryCid);
    assert.deepEqual(conversation.heads(), [reply.cid]);
    out.carHex = bytesToHex(conversation.exportCar());

    // Kept and restored (as the page does with IndexedDB).
    const restored = new kaichi.Conversation(id, bob);
    assert.equal(restored.load(conversation.blocks()), 2);
    assert.equal(restored.messages(10)[0].text, "hi Bob, from the page");
    const imported = new kaichi.Conversation(id, bob);
    assert.equal(imported.importCar(conversation.exportCar()), 2);
  });
});

test.after(() => writeFileSync(process.env.KAICHI_OUT, JSON.stringify(out)));
