// The Kaichi example page: a wallet (Phantom's window.solana API) signs
// once, kaichi-web derives the identity and encrypts, verifies and
// decrypts in the page; conversations are kept in IndexedDB by kaichi-web's
// Store (one database per wallet).
import init, {
  derivationMessage, deriveIdentity, verifyDocument, Conversation, Store,
  MAILBOX_PROTOCOL, mailboxRequest, mailboxNotifications,
} from "../pkg/web/kaichi_web.js";
// js-libp2p over WebSockets, bundled by `npm run build` in ./net.
const loadNet = () => import("./libp2p.bundle.js");

const $ = (id) => document.getElementById(id);
const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
const unhex = (text) => {
  const clean = text.trim().toLowerCase();
  if (!/^([0-9a-f]{2})*$/.test(clean)) throw new Error("not hex");
  return Uint8Array.from(clean.match(/../g) ?? [], (b) => parseInt(b, 16));
};

let me = null; // Identity
let myDocument = null; // this identity's signed document (Uint8Array)
let net = null; // the page's libp2p node, once online
let store = null; // this wallet's conversations (IndexedDB)
const chats = new Map(); // contact wallet -> { contact, conversation }
let open = null;

// IndexedDB database "kaichi": this page's own signed identity documents
// (the conversations are in the Store's database).
function db() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open("kaichi", 1);
    request.onupgradeneeded = () => request.result.createObjectStore("conversations");
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}
// Every change so far committed: only then is anything announced or
// acknowledged (the conversation refuses before).
const kept = () => store.durable();
// The conversations this wallet's store holds.
function restore() {
  for (const contact of store.contacts()) {
    chats.set(contact.wallet, { contact, conversation: Conversation.inStore(me, contact, store) });
  }
  renderList();
}

// This identity's document: kept, or signed anew (a second signature).
async function ensureDocument() {
  if (myDocument) return myDocument;
  const documents = (await db()).transaction("conversations").objectStore("conversations");
  const saved = await new Promise((resolve) => {
    const request = documents.get(`document:${me.wallet}`);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => resolve(undefined);
  });
  if (saved) {
    try {
      verifyDocument(saved, Date.now() + 86400000);
      myDocument = saved;
      return myDocument;
    } catch {
      // expired or about to: sign a new one
    }
  }
  const prepared = me.prepareDocument(Date.now(), 30 * 86400);
  const { signature } = await window.solana.signMessage(prepared.message, "utf8");
  myDocument = prepared.finish(signature);
  (await db()).transaction("conversations", "readwrite").objectStore("conversations")
    .put(myDocument, `document:${me.wallet}`);
  return myDocument;
}

// A notification on this identity's inbox topic.
async function received(topic, data) {
  if (topic !== me.inboxTopic) return;
  try {
    const notification = me.openNotification(data);
    const chat = addContact(notification.senderDocument);
    const held = chat.conversation.take(notification);
    await kept();
    if (held.length > 0) {
      const receipt = chat.conversation.acknowledge(await ensureDocument(), held);
      await net.publish(chat.conversation.contactInboxTopic, receipt);
    }
    if (open === chat.contact.wallet) renderMessages();
    renderList();
  } catch (e) {
    // Not for this identity, or refused: nothing changed.
    console.warn("notification refused:", e.message);
  }
}

async function deliver(chat, blocks) {
  if (!net) return;
  await kept();
  const notification = chat.conversation.notify(await ensureDocument(), blocks);
  await net.publish(chat.conversation.contactInboxTopic, notification);
}

function fail(error) {
  $("error").textContent = error instanceof Error ? error.message : String(error);
}

function addContact(documentBytes) {
  const contact = verifyDocument(documentBytes, Date.now());
  if (!chats.has(contact.wallet)) {
    chats.set(contact.wallet, { contact, conversation: Conversation.inStore(me, contact, store) });
  }
  renderList();
  return chats.get(contact.wallet);
}

function renderList() {
  const list = $("conversation-list");
  list.replaceChildren();
  for (const [wallet, chat] of chats) {
    const item = document.createElement("li");
    item.textContent = `${wallet} (${chat.conversation.length} messages)`;
    item.dataset.wallet = wallet;
    item.className = wallet === open ? "open" : "";
    item.onclick = () => openChat(wallet);
    list.append(item);
  }
}

function openChat(wallet) {
  open = wallet;
  $("chat").hidden = false;
  $("chat-title").textContent = `With ${wallet}`;
  renderMessages();
  renderList();
}

function renderMessages() {
  const chat = chats.get(open);
  const list = $("messages");
  list.replaceChildren();
  for (const m of chat.conversation.messages(200).reverse()) {
    const item = document.createElement("li");
    item.className = m.mine ? "mine" : "theirs";
    item.dataset.cid = m.cid;
    item.textContent = m.deleted ? "(deleted)" : m.text;
    const meta = document.createElement("span");
    meta.className = "meta";
    const when = new Date(m.sentAtMs).toLocaleTimeString();
    meta.textContent = m.mine ? `${when} · ${m.read ? "read" : m.delivered ? "delivered" : "sent"}` : when;
    item.append(meta);
    list.append(item);
  }
}

$("connect").onclick = async () => {
  try {
    if (!window.solana) throw new Error("no Solana wallet in this browser (Phantom or another with window.solana)");
    const { publicKey } = await window.solana.connect();
    const wallet = publicKey.toString();
    const { signature } = await window.solana.signMessage(derivationMessage(wallet, 0), "utf8");
    me = deriveIdentity(wallet, 0, signature);
    $("wallet").textContent = me.wallet;
    $("ipns-name").textContent = me.ipnsName;
    $("peer-id").textContent = me.peerId;
    $("identity").hidden = false;
    $("network").hidden = false;
    $("contacts").hidden = false;
    $("connect").disabled = true;
    store = await Store.open(`kaichi/${wallet}`);
    restore();
  } catch (e) {
    fail(e);
  }
};

$("make-document").onclick = async () => {
  try {
    $("my-document").value = hex(await ensureDocument());
  } catch (e) {
    fail(e);
  }
};

$("go-online").onclick = async () => {
  try {
    $("net-status").textContent = "connecting…";
    await ensureDocument();
    const { goOnline } = await loadNet();
    net = await goOnline({
      privateKey: me.libp2pPrivateKey(),
      relay: $("relay").value.trim(),
      topics: [me.inboxTopic],
      onMessage: received,
    });
    $("net-status").textContent = `online as ${net.peerId} via ${net.connections().join(", ")}`;
    $("go-online").disabled = true;
    $("go-offline").disabled = false;
    // What the relay held while this page was away.
    const held = mailboxNotifications(await net.ask(MAILBOX_PROTOCOL(), mailboxRequest()));
    for (const notification of held) await received(me.inboxTopic, notification);
    document.body.dataset.caughtUp = String(held.length);
  } catch (e) {
    $("net-status").textContent = "offline";
    fail(e);
  }
};

$("go-offline").onclick = async () => {
  const node = net;
  net = null;
  delete document.body.dataset.caughtUp;
  await node?.stop();
  $("net-status").textContent = "offline";
  $("go-online").disabled = false;
  $("go-offline").disabled = true;
};

$("add-contact").onclick = async () => {
  try {
    const chat = addContact(unhex($("contact-document").value));
    await kept();
    $("contact-document").value = "";
    openChat(chat.contact.wallet);
  } catch (e) {
    fail(e);
  }
};

$("send-form").onsubmit = async (event) => {
  event.preventDefault();
  try {
    const text = $("text").value;
    if (!text.trim()) return;
    const chat = chats.get(open);
    const sent = chat.conversation.sendText(text, Date.now(), null);
    $("outgoing").value = hex(sent.block);
    $("outgoing").dataset.cid = sent.cid;
    $("text").value = "";
    await kept();
    renderMessages();
    await deliver(chat, [sent.block]);
  } catch (e) {
    fail(e);
  }
};

$("receive").onclick = async () => {
  try {
    chats.get(open).conversation.ingest(unhex($("incoming").value), null);
    $("incoming").value = "";
    await kept();
    renderMessages();
    renderList();
  } catch (e) {
    fail(e);
  }
};

$("export").onclick = () => {
  const car = chats.get(open).conversation.exportCar();
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([car], { type: "application/vnd.ipld.car" }));
  link.download = `kaichi-${open}.car`;
  link.click();
};

await init();
document.body.dataset.ready = "true";
