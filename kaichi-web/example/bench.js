// Browser bench: derive keys from a wallet signature, encrypt+sign an
// entry, verify+decrypt an entry, each as operations a second. Two test
// wallets sign with WebCrypto Ed25519 (no extension needed).
import init, { derivationMessage, deriveIdentity, verifyDocument, Conversation } from "../pkg/web/kaichi_web.js";

const PKCS8 = "302e020100300506032b657004220420";
const bytes = (h) => Uint8Array.from(h.match(/../g), (b) => parseInt(b, 16));
const ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
function base58(buf) {
  let n = 0n;
  for (const b of buf) n = n * 256n + BigInt(b);
  let out = "";
  while (n > 0n) { out = ALPHABET[Number(n % 58n)] + out; n /= 58n; }
  for (const b of buf) { if (b !== 0) break; out = "1" + out; }
  return out;
}

async function wallet(seedByte) {
  const seed = seedByte.toString(16).padStart(2, "0").repeat(32);
  const key = await crypto.subtle.importKey("pkcs8", bytes(PKCS8 + seed), { name: "Ed25519" }, true, ["sign"]);
  const jwk = await crypto.subtle.exportKey("jwk", key);
  const pub = Uint8Array.from(atob(jwk.x.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
  const address = base58(pub);
  const sign = async (m) => new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, key, m));
  const signature = await sign(derivationMessage(address, 0));
  return { address, sign, signature };
}

// Runs `op` for about `ms` milliseconds; operations a second.
function rate(op, ms = 1500) {
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < ms) { op(n); n++; }
  return (n * 1000) / (performance.now() - start);
}

await init();
const a = await wallet(0x11);
const b = await wallet(0x22);
const alice = deriveIdentity(a.address, 0, a.signature);
const bob = deriveIdentity(b.address, 0, b.signature);
const doc = async (id, w) => {
  const p = id.prepareDocument(Date.now(), 86400);
  return p.finish(await w.sign(p.message));
};
const aliceContact = verifyDocument(await doc(alice, a), Date.now());
const bobContact = verifyDocument(await doc(bob, b), Date.now());

const derive = rate(() => deriveIdentity(a.address, 0, a.signature).free());
const writer = new Conversation(bob, aliceContact);
const blocks = [];
const encrypt = rate((i) => { blocks.push(writer.sendText(`message ${i} of the bench`, Date.now(), null).block); });
const reader = new Conversation(alice, bobContact);
// Every entry once, in the order written (a duplicate would cost nothing).
const start = performance.now();
for (const block of blocks) reader.ingest(block, null);
const decrypt = (blocks.length * 1000) / (performance.now() - start);
if (reader.length !== blocks.length) throw new Error("not every entry was taken");
const results = {
  derive_per_s: derive,
  encrypt_sign_per_s: encrypt,
  verify_decrypt_per_s: decrypt,
  entries: blocks.length,
  user_agent: navigator.userAgent,
};
document.getElementById("results").textContent = JSON.stringify(results);
document.body.dataset.done = "true";
