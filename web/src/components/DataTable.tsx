import { Alert, Button, Group, Loader, Table, Text } from '@mantine/core';
import { flexRender, getCoreRowModel, useReactTable, type ColumnDef } from '@tanstack/react-table';
import { useMemo, useState } from 'react';
import type { List, Query } from '../api';
import { useResource } from '../hooks';

interface Props<T extends { id?: string }> {
  path: string;
  query?: Query;
  columns: ColumnDef<T, unknown>[];
  onRowClick?: (row: T) => void;
  rowId?: (row: T) => string;
  empty?: string;
  /** Selection of rows (bulk actions). */
  selectable?: boolean;
  onSelectionChange?: (rows: T[]) => void;
  label: string;
  pageSize?: number;
}

/**
 * A list route as a table: TanStack Table over Mantine's table, with the API's cursor pagination (newest first;
 * `starting_after` the last id of this page, `ending_before` the first).
 */
export function DataTable<T extends { id?: string }>(props: Props<T>) {
  const [cursor, setCursor] = useState<{ starting_after?: string; ending_before?: string }>({});
  const list = useResource<List<T>>(props.path, { limit: props.pageSize ?? 20, ...props.query, ...cursor });
  // A stable array: a new one on every render makes the table reset its state, render again, and never settle.
  const rows = useMemo(() => list.data?.data ?? [], [list.data]);
  const idOf = props.rowId ?? ((row: T) => row.id ?? '');
  const table = useReactTable({
    data: rows,
    columns: props.columns,
    getCoreRowModel: getCoreRowModel(),
    getRowId: idOf,
  });
  const first = rows[0];
  const last = rows.at(-1);
  return (
    <div>
      {list.error && (
        <Alert color="red" title="Could not load" mb="sm">
          {list.error.message}
        </Alert>
      )}
      <Table.ScrollContainer minWidth={640}>
        <Table striped highlightOnHover aria-label={props.label}>
          <Table.Thead>
            {table.getHeaderGroups().map((group) => (
              <Table.Tr key={group.id}>
                {group.headers.map((header) => (
                  <Table.Th key={header.id}>
                    {flexRender(header.column.columnDef.header, header.getContext())}
                  </Table.Th>
                ))}
              </Table.Tr>
            ))}
          </Table.Thead>
          <Table.Tbody>
            {table.getRowModel().rows.map((row) => (
              <Table.Tr
                key={row.id}
                data-row-id={row.id}
                style={props.onRowClick ? { cursor: 'pointer' } : undefined}
                onClick={() => props.onRowClick?.(row.original)}
              >
                {row.getVisibleCells().map((cell) => (
                  <Table.Td key={cell.id}>
                    {flexRender(cell.column.columnDef.cell, cell.getContext())}
                  </Table.Td>
                ))}
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      {list.loading && <Loader size="sm" mt="sm" />}
      {!list.loading && rows.length === 0 && !list.error && (
        <Text c="dimmed" mt="sm">
          {props.empty ?? 'Nothing here.'}
        </Text>
      )}
      <Group mt="sm" gap="xs">
        <Button
          variant="default"
          size="xs"
          disabled={
            first === undefined || (cursor.starting_after === undefined && cursor.ending_before === undefined)
          }
          onClick={() => first && setCursor({ ending_before: idOf(first) })}
        >
          Newer
        </Button>
        <Button
          variant="default"
          size="xs"
          disabled={last === undefined || list.data?.has_more !== true}
          onClick={() => last && setCursor({ starting_after: idOf(last) })}
        >
          Older
        </Button>
      </Group>
    </div>
  );
}
