import {
  Anchor,
  Badge,
  Button,
  Card,
  Group,
  Select,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import type { ColumnDef } from '@tanstack/react-table';
import { useState } from 'react';
import { useNavigate, useParams } from 'react-router';
import { withQuery } from '../api';
import { Json, Loaded, when } from '../components/Bits';
import { DataTable } from '../components/DataTable';
import { useResource } from '../hooks';

interface SellerRow {
  id?: string;
  seller_account: string;
  name: string;
  currency: string;
  status?: string;
  flagged?: boolean;
}

const columns: ColumnDef<SellerRow, unknown>[] = [
  { header: 'Seller', accessorKey: 'seller_account' },
  { header: 'Name', accessorKey: 'name' },
  { header: 'Currency', accessorKey: 'currency' },
  { header: 'Status', cell: ({ row }) => row.original.status ?? 'active' },
  { header: 'Flags', cell: ({ row }) => (row.original.flagged ? <Badge color="red">flagged</Badge> : null) },
];

export function SellersPage() {
  const navigate = useNavigate();
  const [status, setStatus] = useState<string | null>(null);
  const [flagged, setFlagged] = useState<string | null>(null);
  return (
    <Stack>
      <Title order={2}>Sellers</Title>
      <Group gap="xs">
        <Select
          label="Status"
          size="xs"
          clearable
          data={['active', 'inactive']}
          value={status}
          onChange={setStatus}
        />
        <Select
          label="Flagged"
          size="xs"
          clearable
          data={['true', 'false']}
          value={flagged}
          onChange={setFlagged}
        />
      </Group>
      <DataTable<SellerRow>
        label="Sellers"
        path="/v1/sellers"
        query={{ status: status ?? undefined, flagged: flagged ?? undefined }}
        columns={columns}
        rowId={(row) => row.seller_account}
        onRowClick={(row) => navigate(`/sellers/${encodeURIComponent(row.seller_account)}`)}
      />
    </Stack>
  );
}

interface Balance {
  currency: string;
  pending: string;
  available: string;
  reserved: string;
  in_transit: string;
  paid_out: string;
  balance_due: string;
  as_of: string;
}

const BUCKETS = ['pending', 'available', 'reserved', 'in_transit', 'paid_out', 'balance_due'] as const;

function Wallet({ id }: { id: string }) {
  const balance = useResource<Balance>(`/v1/sellers/${encodeURIComponent(id)}/balance`);
  return (
    <Card withBorder>
      <Title order={4} mb="xs">
        Wallet
      </Title>
      <Loaded resource={balance}>
        {(data) => (
          <Table.ScrollContainer minWidth={480}>
            <Table aria-label="Wallet">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Currency</Table.Th>
                  {BUCKETS.map((bucket) => (
                    <Table.Th key={bucket}>{bucket.replace('_', ' ')}</Table.Th>
                  ))}
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                <Table.Tr>
                  <Table.Td>{data.currency}</Table.Td>
                  {BUCKETS.map((bucket) => (
                    <Table.Td key={bucket}>{data[bucket]}</Table.Td>
                  ))}
                </Table.Tr>
              </Table.Tbody>
            </Table>
            <Text size="xs" c="dimmed">
              as of {when(data.as_of)}
            </Text>
          </Table.ScrollContainer>
        )}
      </Loaded>
    </Card>
  );
}

function Statement({ id, currency }: { id: string; currency: string }) {
  const today = new Date().toISOString().slice(0, 10);
  const monthAgo = new Date(Date.now() - 30 * 86_400_000).toISOString().slice(0, 10);
  const [range, setRange] = useState({ from: monthAgo, to: today });
  const [shown, setShown] = useState<typeof range | undefined>(undefined);
  const path = `/v1/sellers/${encodeURIComponent(id)}/statement`;
  const query = shown && { from: `${shown.from}T00:00:00Z`, to: `${shown.to}T23:59:59Z`, currency };
  const statement = useResource<Record<string, unknown>>(shown ? path : undefined, query ?? {});
  return (
    <Card withBorder>
      <Title order={4} mb="xs">
        Statement
      </Title>
      <Group align="end" gap="xs">
        <TextInput
          type="date"
          label="From"
          size="xs"
          value={range.from}
          onChange={(e) => setRange({ ...range, from: e.currentTarget.value })}
        />
        <TextInput
          type="date"
          label="To"
          size="xs"
          value={range.to}
          onChange={(e) => setRange({ ...range, to: e.currentTarget.value })}
        />
        <Button size="xs" onClick={() => setShown(range)}>
          Show
        </Button>
        {shown && query && (
          <Anchor href={withQuery(path, { ...query, format: 'csv' })} download>
            Download CSV
          </Anchor>
        )}
      </Group>
      {shown && <Loaded resource={statement}>{(data) => <Json value={data} />}</Loaded>}
    </Card>
  );
}

interface BankChange {
  id: string;
  api_key_id: string | null;
  before: unknown;
  after: unknown;
  changed_at: string;
}

function BankHistory({ id }: { id: string }) {
  const history = useResource<{ data: BankChange[] }>(
    `/dashboard/api/sellers/${encodeURIComponent(id)}/bank_details_history`,
  );
  return (
    <Card withBorder>
      <Title order={4} mb="xs">
        Bank-detail changes
      </Title>
      <Loaded resource={history}>
        {(list) =>
          list.data.length === 0 ? (
            <Text c="dimmed">No changes.</Text>
          ) : (
            <Table.ScrollContainer minWidth={480}>
              <Table aria-label="Bank-detail changes">
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>When</Table.Th>
                    <Table.Th>By key</Table.Th>
                    <Table.Th>Before</Table.Th>
                    <Table.Th>After</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {list.data.map((change) => (
                    <Table.Tr key={change.id}>
                      <Table.Td>{when(change.changed_at)}</Table.Td>
                      <Table.Td>{change.api_key_id ?? '—'}</Table.Td>
                      <Table.Td>
                        <Json value={change.before} />
                      </Table.Td>
                      <Table.Td>
                        <Json value={change.after} />
                      </Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </Table.ScrollContainer>
          )
        }
      </Loaded>
    </Card>
  );
}

export function SellerPage() {
  const { id = '' } = useParams();
  const seller = useResource<Record<string, unknown>>(`/v1/sellers/${encodeURIComponent(id)}`);
  return (
    <Stack>
      <Title order={2}>Seller {id}</Title>
      <Loaded resource={seller}>
        {(data) => (
          <>
            <Group gap="xs">
              {data.status === 'inactive' && <Badge color="gray">inactive</Badge>}
              {(data.payout as { needs_bank_details?: boolean } | undefined)?.needs_bank_details && (
                <Badge color="red">needs bank details</Badge>
              )}
            </Group>
            <Wallet id={id} />
            <Statement id={id} currency={String(data.currency ?? 'USD')} />
            <Card withBorder>
              <Title order={4} mb="xs">
                Payout settings and flags
              </Title>
              <Json value={data} />
            </Card>
          </>
        )}
      </Loaded>
      <BankHistory id={id} />
    </Stack>
  );
}
