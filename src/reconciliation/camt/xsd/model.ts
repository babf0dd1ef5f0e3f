/**
 * The compiled form of an ISO 20022 message XSD: the small subset of XML Schema 1.0 those generated schemas use
 * (named complex types holding one `sequence` or `choice` of elements, or simple content with attributes; named
 * simple types restricting a built-in type with enumeration, pattern, length, digits and bound facets; one lax
 * `any` for supplementary data). See compile.ts for how it is read and validate.ts for how documents are checked.
 */

export type BuiltIn =
  'string' | 'decimal' | 'boolean' | 'date' | 'dateTime' | 'time' | 'gYear' | 'gYearMonth';

export interface Facets {
  enumeration?: Set<string>;
  patterns: RegExp[];
  minLength?: number;
  maxLength?: number;
  totalDigits?: number;
  fractionDigits?: number;
  minInclusive?: string;
  maxInclusive?: string;
}

export interface SimpleType {
  name: string;
  base: BuiltIn;
  facets: Facets;
}

export interface Particle {
  /** The element's local name, or undefined for `xs:any` (any element, not validated). */
  name: string | undefined;
  /** The element's type name (a complex or simple type of the schema). */
  type: string;
  min: number;
  /** `Infinity` for unbounded. */
  max: number;
}

export interface AttributeUse {
  name: string;
  type: string;
  required: boolean;
}

export type ComplexType =
  | { name: string; kind: 'elements'; compositor: 'sequence' | 'choice'; particles: Particle[] }
  | { name: string; kind: 'simple'; base: string; attributes: AttributeUse[] };

export interface Schema {
  namespace: string;
  /** The global element (`Document`) and its type. */
  roots: Map<string, string>;
  complexTypes: Map<string, ComplexType>;
  simpleTypes: Map<string, SimpleType>;
}
