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
import { Json, Loaded } from '../components/Bits';
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
  balances?: { currency: string; [bucket: string]: string }[];
  [key: string]: unknown;
}

function Wallet({ id }: { id: string }) {
  const balance = useResource<Balance>(`/v1/sellers/${encodeURIComponent(id)}/balance`);
  return (
    <Card withBorder>
      <Title order={4} mb="xs">
        Wallet
      </Title>
      <Loaded resource={balance}>
        {(data) =>
          Array.isArray(data.balances) ? (
            <Table aria-label="Wallet">
              <Table.Tbody>
                {data.balances.map((row) => (
                  <Table.Tr key={row.currency}>
                    {Object.entries(row).map(([k, v]) => (
                      <Table.Td key={k}>
                        {k}: {String(v)}
                      </Table.Td>
                    ))}
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          ) : (
            <Json value={data} />
          )
        }
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

export function SellerPage() {
  const { id = '' } = useParams();
  const seller = useResource<Record<string, unknown>>(`/v1/sellers/${encodeURIComponent(id)}`);
  const history = useResource<Record<string, unknown>>(
    `/v1/sellers/${encodeURIComponent(id)}/bank_accounts/history`,
  );
  return (
    <Stack>
      <Title order={2}>Seller {id}</Title>
      <Loaded resource={seller}>
        {(data) => (
          <>
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
      <Card withBorder>
        <Title order={4} mb="xs">
          Bank-detail changes
        </Title>
        {history.data ? <Json value={history.data} /> : <Text c="dimmed">No history available.</Text>}
      </Card>
    </Stack>
  );
}
