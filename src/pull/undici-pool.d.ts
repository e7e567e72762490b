// undici's Pool on its own: the package's index loads all of undici (fetch, websocket, caches:
// ≈ 175 ms of a cold start), the pool module only what a pool of HTTP/1.1 clients needs (≈ 40 ms).
declare module "undici/lib/dispatcher/pool.js" {
  import type { Pool } from "undici";

  const PoolClass: typeof Pool;
  export default PoolClass;
}
