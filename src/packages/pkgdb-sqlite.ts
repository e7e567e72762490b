// better-sqlite3 ships no types: this is the sliver of its API that the package database and the
// rpmdb readers use, loaded once through createRequire (it is a CommonJS native addon).
import { createRequire } from "node:module";

export type SqlValue = string | number | bigint | Buffer | null;

export interface SqliteStatement {
  run(...params: SqlValue[]): { changes: number; lastInsertRowid: number | bigint };
  get(...params: SqlValue[]): unknown;
  all(...params: SqlValue[]): unknown[];
}

export interface SqliteDb {
  prepare(sql: string): SqliteStatement;
  exec(sql: string): void;
  pragma(sql: string, opts?: { simple: boolean }): unknown;
  transaction<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R;
  serialize(opts?: { attached: string }): Buffer;
  close(): void;
}

export interface SqliteOptions {
  readonly?: boolean;
  fileMustExist?: boolean;
}

/** A path opens a file; a Buffer is deserialized into a private in-memory database; nothing makes an empty one. */
type SqliteCtor = new (source?: string | Buffer, opts?: SqliteOptions) => SqliteDb;

let ctor: SqliteCtor | undefined;

/**
 * better-sqlite3's Database, loaded on first use: its CommonJS files and addon took ≈ 4.5 ms of the
 * start of every command, most of which never open a database (a pull, `status`).
 */
export const Sqlite = function Sqlite(source?: string | Buffer, opts?: SqliteOptions): SqliteDb {
  ctor ??= createRequire(import.meta.url)("better-sqlite3") as SqliteCtor;
  return new ctor(source, opts);
} as unknown as SqliteCtor;

/**
 * Opens a database image held in memory. SQLite's in-memory VFS cannot run a WAL database, and rpm
 * leaves its rpmdb.sqlite in WAL mode (header bytes 18/19 = 2): such an image is opened as a
 * rollback-journal copy, which reads the same pages.
 */
export function sqliteFromBytes(buf: Buffer, opts?: SqliteOptions): SqliteDb {
  let image = buf;
  if (buf.length >= 100 && (buf[18] === 2 || buf[19] === 2)) {
    image = Buffer.from(buf);
    image[18] = 1;
    image[19] = 1;
  }
  return new Sqlite(image, opts);
}
