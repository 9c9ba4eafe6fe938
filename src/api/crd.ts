// Assembles an apiextensions.k8s.io/v1 CustomResourceDefinition from a
// kind's zod schemas: structural schema, status subresource, printer
// columns, short names and the `fluxora` category.
import type { z } from 'zod';
import { API_GROUP, API_VERSION, type KindResource } from './common.js';
import type { CelValidation } from './kube-meta.js';
import { structuralSchemaOf, type JSONSchemaProps } from './structural.js';

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description: string;
  /** 0 shows in `kubectl get`; 1 only with `-o wide`. */
  priority?: 0 | 1;
}

export interface CrdSource {
  resource: KindResource;
  /** Shown by `kubectl explain <kind>`. */
  description: string;
  spec: z.ZodType;
  status: z.ZodType;
  printerColumns: PrinterColumn[];
  /** Rules on the whole object (they may read metadata.name). */
  validations?: CelValidation[];
}

export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string; labels: Record<string, string> };
  spec: {
    group: string;
    names: { kind: string; listKind: string; plural: string; singular: string; shortNames: string[]; categories: string[] };
    scope: 'Namespaced' | 'Cluster';
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      schema: { openAPIV3Schema: JSONSchemaProps };
      subresources: { status: Record<string, never> };
      additionalPrinterColumns: PrinterColumn[];
    }[];
  };
}

export const CATEGORY = 'fluxora';

/** The printer column every kind ends with, as kubectl shows for built-ins. */
export const AGE_COLUMN: PrinterColumn = {
  name: 'Age',
  type: 'date',
  jsonPath: '.metadata.creationTimestamp',
  description: 'Time since the object was created.',
};

export function buildCrd(src: CrdSource): CustomResourceDefinition {
  const r = src.resource;
  const openAPIV3Schema: JSONSchemaProps = {
    description: src.description,
    type: 'object',
    properties: {
      apiVersion: {
        description: 'APIVersion defines the versioned schema of this representation of an object.',
        type: 'string',
      },
      kind: {
        description: 'Kind is a string value representing the REST resource this object represents.',
        type: 'string',
      },
      // Declaring metadata.name (the one metadata field a CRD may constrain)
      // lets root rules point their fieldPath at it.
      metadata: { type: 'object', properties: { name: { type: 'string' } } },
      spec: structuralSchemaOf(src.spec),
      status: structuralSchemaOf(src.status),
    },
    required: ['spec'],
    ...(src.validations?.length ? { 'x-kubernetes-validations': src.validations } : {}),
  };
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${r.plural}.${API_GROUP}`, labels: { 'app.kubernetes.io/part-of': 'fluxora' } },
    spec: {
      group: API_GROUP,
      names: {
        kind: r.kind,
        listKind: `${r.kind}List`,
        plural: r.plural,
        singular: r.singular,
        shortNames: [...r.shortNames],
        categories: [CATEGORY],
      },
      scope: r.namespaced ? 'Namespaced' : 'Cluster',
      versions: [
        {
          name: API_VERSION,
          served: true,
          storage: true,
          schema: { openAPIV3Schema },
          subresources: { status: {} },
          additionalPrinterColumns: src.printerColumns,
        },
      ],
    },
  };
}
