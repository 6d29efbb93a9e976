// The kaichi-web package as a group member under Node.js, driven by
// tests/groups.rs over stdin/stdout: one JSON command a line in, one JSON
// answer a line out (bytes as hex), so the native side and the page take
// turns in the same groups.
import { createInterface } from "node:readline";
import { createRequire } from "node:module";
import { walletFromSeed, hexToBytes, bytesToHex } from "./wallet.mjs";

const [pkg, seedHex, walletBase58] = process.argv.slice(2);
const kaichi = createRequire(import.meta.url)(pkg);
const wallet = await walletFromSeed(seedHex, walletBase58);
const { signature } = await wallet.signMessage(kaichi.derivationMessage(walletBase58, 0));
const identity = kaichi.deriveIdentity(walletBase58, 0, signature);
const member = new kaichi.GroupMember(identity);

const hex = (b) => (b ? bytesToHex(b) : null);
const commands = {
  keyPackage: () => ({ keyPackage: hex(member.keyPackage()) }),
  create: ({ name }) => ({ group: member.createGroup(name) }),
  add: ({ group, keyPackages }) => {
    const c = member.add(group, keyPackages.map(hexToBytes));
    return { commit: hex(c.commit), welcome: hex(c.welcome), ratchetTree: hex(c.ratchetTree), epoch: Number(c.epoch) };
  },
  join: ({ welcome, ratchetTree }) => ({ group: member.join(hexToBytes(welcome), hexToBytes(ratchetTree)) }),
  send: ({ group, text }) => ({ message: hex(member.send(group, text)) }),
  receive: ({ message }) => ({ event: member.receive(hexToBytes(message)) }),
  members: ({ group }) => ({ members: member.members(group), epoch: Number(member.epoch(group)) }),
};

console.log(JSON.stringify({ ready: identity.ipnsName }));
for await (const line of createInterface({ input: process.stdin })) {
  let answer;
  try {
    const cmd = JSON.parse(line);
    answer = commands[cmd.op](cmd);
  } catch (e) {
    answer = { error: String(e.message ?? e) };
  }
  console.log(JSON.stringify(answer, (_, v) => (typeof v === "bigint" ? Number(v) : v)));
}
