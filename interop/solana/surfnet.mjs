// A surfnet (surfpool's SVM serving the standard Solana JSON-RPC on
// 127.0.0.1, offline) driven line by line: the first line out is
// {"rpc": URL, "ws": URL}; then each JSON line in is one operation, each
// JSON line out its result ({"error": "..."} on failure). Token state is
// made with real transactions (@solana/web3.js, @solana/spl-token); a
// balance is dropped with surfnet's own cheat code (as a sale would).
//
//   {"op": "mint", "program": "token" | "token2022", "decimals": 0}
//       -> {"mint": "<base58>"}
//   {"op": "mintTo", "mint": M, "program": P, "owner": W, "amount": "N"}
//       -> {"account": "<associated token account>"}
//   {"op": "setBalance", "mint": M, "program": P, "owner": W, "amount": "N"}
//       -> {"ok": true}
//   {"op": "stop"} -> {"ok": true}, then exits
import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import { Connection, Keypair, PublicKey } from "@solana/web3.js";
import {
  TOKEN_2022_PROGRAM_ID,
  TOKEN_PROGRAM_ID,
  createMint,
  getOrCreateAssociatedTokenAccount,
  mintTo,
} from "@solana/spl-token";

const surfpool = createRequire(import.meta.url)("@solana/surfpool-linux-x64-gnu");
const started = surfpool.Surfnet.start();
const surfnet = started instanceof Promise ? await started : started;
const connection = new Connection(surfnet.rpcUrl, {
  commitment: "confirmed",
  wsEndpoint: surfnet.wsUrl,
});
const payer = Keypair.fromSecretKey(Uint8Array.from(surfnet.payerSecretKey));
const confirmed = { commitment: "confirmed" };

const program = (name) => {
  if (name === "token2022") return TOKEN_2022_PROGRAM_ID;
  if (name === "token" || name === undefined) return TOKEN_PROGRAM_ID;
  throw new Error(`unknown token program ${name}`);
};

async function run(req) {
  switch (req.op) {
    case "mint": {
      const mint = await createMint(connection, payer, payer.publicKey, null,
        req.decimals ?? 0, undefined, confirmed, program(req.program));
      return { mint: mint.toBase58() };
    }
    case "mintTo": {
      const prog = program(req.program);
      const mint = new PublicKey(req.mint);
      const owner = new PublicKey(req.owner);
      const account = await getOrCreateAssociatedTokenAccount(connection, payer, mint, owner,
        false, "confirmed", confirmed, prog);
      await mintTo(connection, payer, mint, account.address, payer, BigInt(req.amount), [],
        confirmed, prog);
      return { account: account.address.toBase58() };
    }
    case "setBalance": {
      const res = await fetch(surfnet.rpcUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          jsonrpc: "2.0", id: 1, method: "surfnet_setTokenAccount",
          params: [req.owner, req.mint, { amount: Number(req.amount) }, program(req.program).toBase58()],
        }),
      });
      const body = await res.json();
      if (body.error) throw new Error(JSON.stringify(body.error));
      return { ok: true };
    }
    case "stop":
      surfnet.stop();
      return { ok: true, stop: true };
    default:
      throw new Error(`unknown op ${req.op}`);
  }
}

console.log(JSON.stringify({ rpc: surfnet.rpcUrl, ws: surfnet.wsUrl }));
const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  let out;
  try {
    out = await run(JSON.parse(line));
  } catch (e) {
    out = { error: String(e?.message ?? e) };
  }
  console.log(JSON.stringify(out));
  if (out.stop) process.exit(0);
}
surfnet.stop();
process.exit(0);
