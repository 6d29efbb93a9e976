// The page's libp2p node: js-libp2p over WebSockets or WebRTC-direct (what
// a browser can dial; WebRTC-direct needs no certificate authority: the
// node's address carries its certificate's hash), noise, yamux, identify
// and gossipsub with signed messages, as Kaichi nodes require. The wasm
// cores seal and open what it carries.
import { createLibp2p } from "libp2p";
import { webSockets } from "@libp2p/websockets";
import { webRTCDirect } from "@libp2p/webrtc";
import { all } from "@libp2p/websockets/filters";
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { gossipsub } from "@chainsafe/libp2p-gossipsub";
import { identify } from "@libp2p/identify";
import { multiaddr } from "@multiformats/multiaddr";
import { privateKeyFromProtobuf } from "@libp2p/crypto/keys";

/**
 * Starts a node with `privateKey` (protobuf bytes: the identity's key, so
 * relays hand it its mailbox), dials `relay` (a Kaichi node's /ws or
 * /webrtc-direct/certhash/… address), subscribes `topics` and calls `onMessage(topic, bytes)` for
 * what arrives on them.
 */
export async function goOnline({ privateKey, relay, topics, onMessage }) {
  const node = await createLibp2p({
    privateKey: privateKeyFromProtobuf(privateKey),
    transports: [webSockets({ filter: all }), webRTCDirect()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    // A page dials the node it is given, loopback and LAN ones included.
    connectionGater: { denyDialMultiaddr: () => false },
    services: {
      identify: identify(),
      pubsub: gossipsub({ globalSignaturePolicy: "StrictSign", allowPublishToZeroTopicPeers: true, heartbeatInterval: 500 }),
    },
  });
  node.services.pubsub.addEventListener("message", (e) => onMessage(e.detail.topic, e.detail.data));
  for (const topic of topics) node.services.pubsub.subscribe(topic);
  const relayAddr = multiaddr(relay);
  await node.dial(relayAddr);
  return {
    /** Writes `request` on a new `protocol` stream to the relay; returns all it answers. */
    async ask(protocol, request) {
      const stream = await node.dialProtocol(relayAddr, protocol);
      await stream.sink([request]);
      const chunks = [];
      for await (const chunk of stream.source) chunks.push(chunk.subarray());
      const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
      let at = 0;
      for (const c of chunks) { out.set(c, at); at += c.length; }
      return out;
    },
    peerId: node.peerId.toString(),
    subscribe: (topic) => node.services.pubsub.subscribe(topic),
    publish: (topic, bytes) => node.services.pubsub.publish(topic, bytes),
    peers: () => node.getPeers().map(String),
    /** The addresses of the open connections (which transport carries them). */
    connections: () => node.getConnections().map((c) => c.remoteAddr.toString()),
    stop: () => node.stop(),
  };
}
