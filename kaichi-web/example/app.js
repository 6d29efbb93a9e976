// The Kaichi example page: a wallet (Phantom's window.solana API) signs
// once, kaichi-web derives the identity and encrypts, verifies and
// decrypts in the page; conversations are kept in IndexedDB.
import init, { derivationMessage, deriveIdentity, verifyDocument, Conversation } from "../pkg/web/kaichi_web.js";

const $ = (id) => document.getElementById(id);
const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
const unhex = (text) => {
  const clean = text.trim().toLowerCase();
  if (!/^([0-9a-f]{2})*$/.test(clean)) throw new Error("not hex");
  return Uint8Array.from(clean.match(/../g) ?? [], (b) => parseInt(b, 16));
};

let me = null; // Identity
const chats = new Map(); // contact wallet -> { contact, conversation, document }
let open = null;

// IndexedDB: one record per contact of this wallet: its document and blocks.
function db() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open("kaichi", 1);
    request.onupgradeneeded = () => request.result.createObjectStore("conversations");
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}
async function save(wallet) {
  const chat = chats.get(wallet);
  const store = (await db()).transaction("conversations", "readwrite").objectStore("conversations");
  store.put({ document: chat.document, blocks: chat.conversation.blocks() }, `${me.wallet}/${wallet}`);
}
async function restore() {
  const store = (await db()).transaction("conversations").objectStore("conversations");
  const all = await new Promise((resolve, reject) => {
    const request = store.getAll(IDBKeyRange.bound(`${me.wallet}/`, `${me.wallet}/\uffff`));
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  for (const saved of all) {
    const chat = addContact(saved.document);
    chat.conversation.load(saved.blocks);
  }
}

function fail(error) {
  $("error").textContent = error instanceof Error ? error.message : String(error);
}

function addContact(documentBytes) {
  const contact = verifyDocument(documentBytes, Date.now());
  if (!chats.has(contact.wallet)) {
    chats.set(contact.wallet, { contact, conversation: new Conversation(me, contact), document: documentBytes });
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
    $("contacts").hidden = false;
    $("connect").disabled = true;
    await restore();
  } catch (e) {
    fail(e);
  }
};

$("make-document").onclick = async () => {
  try {
    const prepared = me.prepareDocument(Date.now(), 30 * 86400);
    const { signature } = await window.solana.signMessage(prepared.message, "utf8");
    $("my-document").value = hex(prepared.finish(signature));
  } catch (e) {
    fail(e);
  }
};

$("add-contact").onclick = async () => {
  try {
    const chat = addContact(unhex($("contact-document").value));
    await save(chat.contact.wallet);
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
    const sent = chats.get(open).conversation.sendText(text, Date.now(), null);
    $("outgoing").value = hex(sent.block);
    $("outgoing").dataset.cid = sent.cid;
    $("text").value = "";
    await save(open);
    renderMessages();
  } catch (e) {
    fail(e);
  }
};

$("receive").onclick = async () => {
  try {
    chats.get(open).conversation.ingest(unhex($("incoming").value), null);
    $("incoming").value = "";
    await save(open);
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
