import { Alert, Badge, Code, Loader } from '@mantine/core';
import type { ReactNode } from 'react';
import type { Resource } from '../hooks';

const STATUS_COLORS: Record<string, string> = {
  SUCCESS: 'green',
  succeeded: 'green',
  paid: 'green',
  won: 'green',
  resolved: 'green',
  fixed: 'green',
  FAILED: 'red',
  failed: 'red',
  lost: 'red',
  returned: 'red',
  open: 'orange',
  needs_response: 'orange',
  warning_needs_response: 'orange',
  PENDING: 'yellow',
  pending: 'yellow',
  EXECUTING: 'blue',
  in_transit: 'blue',
  under_review: 'blue',
};

export function StatusBadge({ status }: { status: string | null | undefined }) {
  if (!status) return null;
  return (
    <Badge color={STATUS_COLORS[status] ?? 'gray'} variant="light">
      {status}
    </Badge>
  );
}

export function Json({ value }: { value: unknown }) {
  return (
    <Code block style={{ maxHeight: 320, overflow: 'auto' }}>
      {JSON.stringify(value, null, 2)}
    </Code>
  );
}

/** Renders a resource: a loader while it loads, the error when it failed, else `children(data)`. */
export function Loaded<T>({
  resource,
  children,
}: {
  resource: Resource<T>;
  children: (data: T) => ReactNode;
}) {
  if (resource.error) {
    return (
      <Alert color="red" title="Could not load">
        {resource.error.message}
      </Alert>
    );
  }
  if (resource.data === undefined) return <Loader size="sm" />;
  return <>{children(resource.data)}</>;
}

export function money(amount: string | undefined, currency: string | undefined): string {
  if (amount === undefined) return '';
  return `${amount} ${currency ?? ''}`.trim();
}

export function when(iso: string | null | undefined): string {
  if (!iso) return '';
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}
