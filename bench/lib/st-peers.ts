/** The peers of bench/st-embed.ts, each run by bench/workers/st-peer.ts (which says what each does). */
export const ST_PEERS = [
  'seqbatch-embed',
  'transformersjs-embed',
  'seqbatch-rerank',
  'transformersjs-rerank',
  'server-embed',
  'server-rerank',
] as const;

export type StPeer = (typeof ST_PEERS)[number];
