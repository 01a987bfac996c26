/**
 * Private: .NET `Enum.TryParse<T>(string)` semantics (case-sensitive overload), used for the
 * `devicetype` and `type` claims.
 *
 * @module
 */

/**
 * Builds the name -> value table of a numeric TypeScript enum (drops the reverse mappings).
 *
 * @param enumObject A numeric TypeScript enum object.
 * @returns Frozen name -> value table.
 */
export function enumNameTable(enumObject: object): Readonly<Record<string, number>> {
  const table: Record<string, number> = Object.create(null);
  for (const [name, value] of Object.entries(enumObject)) {
    if (typeof value === "number") table[name] = value;
  }
  return Object.freeze(table);
}

/**
 * Parses an enum value the way .NET `Enum.TryParse` does: surrounding whitespace is trimmed;
 * text starting with a digit or a sign is parsed as an integer (and must fit the underlying
 * type, `0..maxValue` for the byte enums used here); otherwise it is a comma-separated list of
 * case-sensitive member names whose values are OR'd together (this works for any enum, not
 * only `[Flags]` ones).
 *
 * @param text The claim text.
 * @param names Name -> value table of the enum.
 * @param maxValue Largest value of the underlying integer type.
 * @returns The numeric value, or undefined when .NET would return false.
 */
export function parseDotnetEnum(
  text: string,
  names: Readonly<Record<string, number>>,
  maxValue: number,
): number | undefined {
  const trimmed = text.trim();
  if (trimmed === "") return undefined;
  if (/^[0-9+-]/.test(trimmed)) {
    if (!/^[+-]?[0-9]+$/.test(trimmed)) return undefined;
    const value = Number(trimmed);
    return value >= 0 && value <= maxValue ? Math.abs(value) : undefined;
  }
  let result = 0;
  for (const part of trimmed.split(",")) {
    const name = part.trim();
    const value = Object.hasOwn(names, name) ? names[name] : undefined;
    if (value === undefined) return undefined;
    result |= value;
  }
  return result;
}
