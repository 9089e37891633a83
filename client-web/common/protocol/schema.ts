/**
 * Field specifications of the Relais wire protocol v1 (protocol/PROTOCOL.md §3), the building
 * blocks of the message table in messages.ts. Each spec says how a JSON member is checked; the
 * TypeScript type of a message is derived from the same table, so that the types and the
 * validation cannot drift apart.
 */

/** 2^53 - 1: every wire integer stays exact in JavaScript (PROTOCOL.md §2). */
export const maxWireInt = Number.MAX_SAFE_INTEGER;

export interface IntSpec { readonly k: 'int'; readonly min: number; readonly max: number; readonly opt?: true }
export interface BoolSpec { readonly k: 'bool'; readonly opt?: true }
/** UTF-8 text without control characters; limits in bytes. */
export interface TextSpec { readonly k: 'text'; readonly min: number; readonly max: number; readonly opt?: true }
/** `[A-Za-z0-9_-]`; limits in characters. */
export interface TokenSpec { readonly k: 'token'; readonly min: number; readonly max: number; readonly opt?: true }
export interface DigitsSpec { readonly k: 'digits'; readonly min: number; readonly max: number; readonly opt?: true }
/** Canonical unpadded base64url; limits on the decoded length. Kept as text in messages. */
export interface BytesSpec { readonly k: 'bytes'; readonly min: number; readonly max: number; readonly opt?: true }
export interface EnumSpec<V extends string = string> { readonly k: 'enum'; readonly values: readonly V[]; readonly opt?: true }
export interface ArraySpec<I = unknown> { readonly k: 'array'; readonly of: I; readonly min: number; readonly max: number; readonly opt?: true }
export interface ObjectSpec<F = unknown> { readonly k: 'object'; readonly fields: F; readonly opt?: true }

/** Any field specification. */
export type Spec = IntSpec | BoolSpec | TextSpec | TokenSpec | DigitsSpec | BytesSpec | EnumSpec | ArraySpec<Spec> | ObjectSpec<Fields>;
/** The members of an object, by wire name. */
export type Fields = { readonly [name: string]: Spec };

export const int = (min: number, max: number): IntSpec => ({ k: 'int', min, max });
/** A server-assigned id: 1 .. 2^53-1. */
export const id = (): IntSpec => int(1, maxWireInt);
/** Milliseconds since the Unix epoch, server clock. */
export const time = (): IntSpec => int(0, maxWireInt);
export const bool = (): BoolSpec => ({ k: 'bool' });
export const text = (min: number, max: number): TextSpec => ({ k: 'text', min, max });
export const token = (min: number, max: number): TokenSpec => ({ k: 'token', min, max });
export const digits = (min: number, max: number): DigitsSpec => ({ k: 'digits', min, max });
export const bytes = (min: number, max: number): BytesSpec => ({ k: 'bytes', min, max });
export const enumOf = <const V extends string>(values: readonly V[]): EnumSpec<V> => ({ k: 'enum', values });
export const arrayOf = <I>(of: I, min: number, max: number): ArraySpec<I> => ({ k: 'array', of, min, max });
export const object = <const F>(fields: F): ObjectSpec<F> => ({ k: 'object', fields });
/** The same spec, marked optional (absent is fine; null never is). */
export const opt = <S extends object>(spec: S): S & { readonly opt: true } => ({ ...spec, opt: true as const });

/** The TypeScript value type a spec accepts. */
export type ValueOf<S> = S extends IntSpec
  ? number
  : S extends BoolSpec
    ? boolean
    : S extends EnumSpec<infer V>
      ? V
      : S extends ArraySpec<infer I>
        ? ValueOf<I>[]
        : S extends ObjectSpec<infer F>
          ? ObjectOf<F>
          : string;

type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** The object type of a field table: optional specs become optional members. */
export type ObjectOf<F> = Simplify<
  { -readonly [K in keyof F as F[K] extends { opt: true } ? never : K]: ValueOf<F[K]> } & {
    -readonly [K in keyof F as F[K] extends { opt: true } ? K : never]?: ValueOf<F[K]>;
  }
>;
