// The page's libp2p node: js-libp2p over WebSockets (what a browser can
// dial), noise, yamux, identify and gossipsub with signed messages, as
// Kaichi nodes require. The wasm cores seal and open what it carries.
import { createLibp2p } from "libp2p";
import { webSockets } from "@libp2p/websockets";
import { all } from "@libp2p/websockets/filters";
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { gossipsub } from "@chainsafe/libp2p-gossipsub";
import { identify } from "@libp2p/identify";
import { multiaddr } from "@multiformats/multiaddr";

/**
 * Starts a node, dials `relay` (a Kaichi node's /ws address), subscribes
 * `topics` and calls `onMessage(topic, bytes)` for what arrives on them.
 */
export async function goOnline({ relay, topics, onMessage }) {
  const node = await createLibp2p({
    transports: [webSockets({ filter: all })],
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
  await node.dial(multiaddr(relay));
  return {
    peerId: node.peerId.toString(),
    subscribe: (topic) => node.services.pubsub.subscribe(topic),
    publish: (topic, bytes) => node.services.pubsub.publish(topic, bytes),
    peers: () => node.getPeers().map(String),
    stop: () => node.stop(),
  };
}
