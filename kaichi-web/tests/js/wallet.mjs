// A wallet stand-in with Phantom's signMessage shape, backed by a raw
// Ed25519 seed: WebCrypto (Node 20+, Chromium), no dependency.
const PKCS8_PREFIX = "302e020100300506032b657004220420";

export function hexToBytes(hex) {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function bytesToHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function walletFromSeed(seedHex, publicKeyBase58) {
  const key = await crypto.subtle.importKey(
    "pkcs8",
    hexToBytes(PKCS8_PREFIX + seedHex),
    { name: "Ed25519" },
    false,
    ["sign"],
  );
  return {
    publicKey: { toString: () => publicKeyBase58, toBase58: () => publicKeyBase58 },
    async signMessage(message) {
      const signature = new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, key, message));
      return { signature, publicKey: this.publicKey };
    },
  };
}
