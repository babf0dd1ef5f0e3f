import { Alert, Button, Card, Group, Select, Stack, Text, Textarea, Title } from '@mantine/core';
import type { ColumnDef } from '@tanstack/react-table';
import { useState } from 'react';
import { useNavigate, useParams } from 'react-router';
import { ApiError, post } from '../api';
import { Json, Loaded, money, StatusBadge, when } from '../components/Bits';
import { DataTable } from '../components/DataTable';
import { useResource } from '../hooks';
import { useCan } from '../session';

interface DisputeRow {
  id: string;
  payment_order_id?: string;
  seller_account?: string;
  amount: string;
  currency: string;
  status: string;
  reason?: string;
  evidence_due_by?: string | null;
  created_at?: string;
}

const columns: ColumnDef<DisputeRow, unknown>[] = [
  { header: 'Dispute', accessorKey: 'id' },
  { header: 'Payment order', cell: ({ row }) => row.original.payment_order_id ?? '' },
  { header: 'Seller', cell: ({ row }) => row.original.seller_account ?? '' },
  { header: 'Amount', cell: ({ row }) => money(row.original.amount, row.original.currency) },
  { header: 'Status', cell: ({ row }) => <StatusBadge status={row.original.status} /> },
  { header: 'Evidence due', cell: ({ row }) => when(row.original.evidence_due_by) },
];

const STATUSES = ['warning_needs_response', 'needs_response', 'under_review', 'won', 'lost'];

export function DisputesPage() {
  const navigate = useNavigate();
  const [status, setStatus] = useState<string | null>(null);
  return (
    <Stack>
      <Title order={2}>Disputes</Title>
      <Select
        label="Status"
        size="xs"
        w={240}
        clearable
        data={STATUSES}
        value={status}
        onChange={setStatus}
      />
      <DataTable<DisputeRow>
        label="Disputes"
        path="/v1/disputes"
        query={{ status: status ?? undefined }}
        columns={columns}
        onRowClick={(row) => navigate(`/disputes/${row.id}`)}
      />
    </Stack>
  );
}

export function DisputePage() {
  const { id = '' } = useParams();
  const can = useCan('operator');
  const dispute = useResource<DisputeRow>(`/v1/disputes/${encodeURIComponent(id)}`);
  const [text, setText] = useState('');
  const [message, setMessage] = useState<string | undefined>(undefined);
  const act = async (path: string, body: unknown, done: string) => {
    try {
      await post(path, body);
      setMessage(done);
      dispute.reload();
    } catch (caught) {
      setMessage(caught instanceof ApiError ? `${caught.code}: ${caught.message}` : String(caught));
    }
  };
  return (
    <Loaded resource={dispute}>
      {(row) => (
        <Stack>
          <Title order={2}>Dispute {row.id}</Title>
          <Group>
            <StatusBadge status={row.status} />
            <Text>{money(row.amount, row.currency)}</Text>
            <Text>{row.reason ?? ''}</Text>
          </Group>
          <Card withBorder>
            <Json value={row} />
          </Card>
          <Textarea
            label="Evidence (sent to the PSP)"
            minRows={3}
            autosize
            value={text}
            onChange={(e) => setText(e.currentTarget.value)}
          />
          {message && <Alert role="status">{message}</Alert>}
          <Group>
            <Button
              disabled={!can || text.trim() === ''}
              onClick={() =>
                act(
                  `/v1/disputes/${encodeURIComponent(id)}/evidence`,
                  { evidence: { uncategorized_text: text.trim() } },
                  'Evidence submitted.',
                )
              }
            >
              Submit evidence
            </Button>
            <Button
              color="red"
              variant="light"
              disabled={!can}
              onClick={() =>
                act(`/v1/disputes/${encodeURIComponent(id)}/close`, {}, 'Dispute accepted as lost.')
              }
            >
              Accept the loss
            </Button>
          </Group>
        </Stack>
      )}
    </Loaded>
  );
}
