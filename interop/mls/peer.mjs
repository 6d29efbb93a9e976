// A ts-mls member driven over stdin/stdout, one JSON command per line, one
// JSON reply per line (bytes as hex). Used by kaichi-cli/tests/interop_mls.rs.
import readline from "node:readline";
import {
  createApplicationMessage,
  createCommit,
  createGroup,
  decodeMlsMessage,
  defaultCapabilities,
  defaultLifetime,
  emptyPskIndex,
  encodeMlsMessage,
  encodeRequiredCapabilities,
  generateKeyPackageWithKey,
  getCiphersuiteFromName,
  getCiphersuiteImpl,
  joinGroup,
  processPrivateMessage,
} from "ts-mls";
import { decodeRatchetTree, encodeRatchetTree } from "ts-mls/ratchetTree.js";

const KAICHI_METADATA = 0xf1ca;
const impl = await getCiphersuiteImpl(
  getCiphersuiteFromName("MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519"),
);

const hex = (b) => Buffer.from(b).toString("hex");
const unhex = (s) => new Uint8Array(Buffer.from(s, "hex"));
const utf8 = (s) => new TextEncoder().encode(s);

let keyPackage; // { publicPackage, privatePackage }
let state; // ClientState

// Kaichi leaves must support the metadata group context extension. A
// `plain` member is ts-mls as it comes: its default capabilities, which
// know nothing of Kaichi.
const capabilities = (plain) =>
  plain
    ? defaultCapabilities()
    : {
        ...defaultCapabilities(),
        ciphersuites: ["MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519"],
        extensions: [KAICHI_METADATA],
      };

async function newKeyPackage({ seed, pub, name, plain }) {
  keyPackage = await generateKeyPackageWithKey(
    { credentialType: "basic", identity: utf8(name) },
    capabilities(plain),
    defaultLifetime,
    [],
    { signKey: unhex(seed), publicKey: unhex(pub) },
    impl,
  );
  return keyPackage;
}

function decode(bytes, wireformat) {
  const decoded = decodeMlsMessage(unhex(bytes), 0);
  if (!decoded) throw new Error("not an MLSMessage");
  const [m] = decoded;
  if (m.wireformat !== wireformat) throw new Error(`expected ${wireformat}, got ${m.wireformat}`);
  return m;
}

const commands = {
  async keypackage(c) {
    const kp = await newKeyPackage(c);
    return {
      kp: hex(encodeMlsMessage({ keyPackage: kp.publicPackage, wireformat: "mls_key_package", version: "mls10" })),
    };
  },
  async join({ welcome, tree }) {
    const w = decode(welcome, "mls_welcome").welcome;
    const decodedTree = tree ? decodeRatchetTree(unhex(tree), 0)[0] : undefined;
    state = await joinGroup(w, keyPackage.publicPackage, keyPackage.privatePackage, emptyPskIndex, impl, decodedTree);
    return { epoch: Number(state.groupContext.epoch) };
  },
  // Without `metadata`: a plain RFC 9420 group (no group context extensions).
  async create({ seed, pub, name, group_id, metadata, plain }) {
    const kp = await newKeyPackage({ seed, pub, name, plain });
    const extensions = metadata === undefined ? [] : [
      { extensionType: KAICHI_METADATA, extensionData: unhex(metadata) },
      {
        extensionType: "required_capabilities",
        extensionData: encodeRequiredCapabilities({
          extensionTypes: [KAICHI_METADATA],
          proposalTypes: [],
          credentialTypes: [],
        }),
      },
    ];
    state = await createGroup(unhex(group_id), kp.publicPackage, kp.privatePackage, extensions, impl);
    return { epoch: Number(state.groupContext.epoch) };
  },
  async add({ kp }) {
    const keyPackage = decode(kp, "mls_key_package").keyPackage;
    const result = await createCommit(
      { state, cipherSuite: impl },
      { extraProposals: [{ proposalType: "add", add: { keyPackage } }] },
    );
    state = result.newState;
    return {
      commit: hex(encodeMlsMessage(result.commit)),
      welcome: hex(encodeMlsMessage({ welcome: result.welcome, wireformat: "mls_welcome", version: "mls10" })),
      tree: hex(encodeRatchetTree(state.ratchetTree)),
      epoch: Number(state.groupContext.epoch),
    };
  },
  async send({ text }) {
    const r = await createApplicationMessage(state, utf8(text), impl);
    state = r.newState;
    return {
      msg: hex(encodeMlsMessage({ privateMessage: r.privateMessage, wireformat: "mls_private_message", version: "mls10" })),
    };
  },
  async process({ msg }) {
    const pm = decode(msg, "mls_private_message").privateMessage;
    const r = await processPrivateMessage(state, pm, emptyPskIndex, impl);
    state = r.newState;
    if (r.kind === "applicationMessage") return { text: new TextDecoder().decode(r.message) };
    return { epoch: Number(state.groupContext.epoch) };
  },
};

const rl = readline.createInterface({ input: process.stdin });
for await (const line of rl) {
  if (!line.trim()) continue;
  let reply;
  try {
    const c = JSON.parse(line);
    reply = { ok: true, ...(await commands[c.cmd](c)) };
  } catch (e) {
    reply = { ok: false, error: String(e && e.stack ? e.stack : e) };
  }
  process.stdout.write(JSON.stringify(reply) + "\n");
}
