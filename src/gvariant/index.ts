export { deserialize, GVariantError, type GVValue, isNormalForm, serialize, Variant } from "./codec.js";
export { GVariantParseError, parseText, printValue } from "./text.js";
export { GVariantTypeError, type GVType, parseType, typeString } from "./types.js";
