import { JsonObject, JsonValue } from '@backstage/types';

/**
 * `patch` merged into `base`: objects key by key, lists of named objects
 * (containers, volumes, env, ...) name by name, anything else replaced,
 * so a patch can add a volume mount to the step's container without
 * restating it.
 */
export function deepMerge<T>(base: T, patch: JsonObject | undefined): T {
  if (!patch) return base;
  return mergeValue(base as JsonValue, patch) as T;
}

function mergeValue(base: JsonValue | undefined, patch: JsonValue): JsonValue {
  if (isObject(base) && isObject(patch)) {
    const merged: JsonObject = { ...base };
    for (const [key, value] of Object.entries(patch)) {
      if (value !== undefined) merged[key] = mergeValue(base[key], value);
    }
    return merged;
  }
  if (Array.isArray(base) && Array.isArray(patch) && allNamed(patch)) {
    const merged = [...base];
    for (const item of patch as JsonObject[]) {
      const at = merged.findIndex(
        other => isObject(other) && other.name === item.name,
      );
      if (at >= 0) merged[at] = mergeValue(merged[at], item);
      else merged.push(item);
    }
    return merged;
  }
  return patch;
}

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function allNamed(items: JsonValue[]): boolean {
  return items.every(item => isObject(item) && typeof item.name === 'string');
}
