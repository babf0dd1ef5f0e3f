import { BarChart, LineChart } from '@mantine/charts';
import { Anchor, Card, Group, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { Link } from 'react-router';
import { useResource } from '../hooks';
import { Loaded } from '../components/Bits';

interface Day {
  day: string;
  currency: string;
  volume: string;
  succeeded: number;
  failed: number;
  success_rate: string | null;
  refunded: string;
  refunds: number;
  disputed: string;
  disputes: number;
}

interface Overview {
  today: string;
  days: Day[];
  open_exceptions: Record<string, number>;
  open_dead_letters: Record<string, number>;
}

const COLORS = ['indigo.6', 'teal.6', 'orange.6', 'grape.6', 'cyan.6', 'red.6'];

/** The 30 days ending `today` (UTC dates, oldest first). */
function lastThirtyDays(today: string): string[] {
  const end = Date.parse(`${today}T00:00:00Z`);
  return Array.from({ length: 30 }, (_, i) =>
    new Date(end - (29 - i) * 86_400_000).toISOString().slice(0, 10),
  );
}

/**
 * Chart rows: one per day of the last 30 (days without activity plot as zero), one numeric field per currency.
 * Charts plot numbers; the tables show the exact decimal amounts.
 */
function byDay(overview: Overview, field: (d: Day) => string | null): Record<string, string | number>[] {
  const currencies = [...new Set(overview.days.map((d) => d.currency))];
  return lastThirtyDays(overview.today).map((day) => {
    const row: Record<string, string | number> = { day: day.slice(5) };
    for (const currency of currencies) {
      const found = overview.days.find((d) => d.day === day && d.currency === currency);
      const value = found === undefined ? null : field(found);
      row[currency] = value === null ? 0 : Number(value);
    }
    return row;
  });
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function Totals({ overview }: { overview: Overview }) {
  const currencies = [...new Set(overview.days.map((d) => d.currency))];
  return (
    <Table aria-label="Totals by currency">
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Currency</Table.Th>
          <Table.Th>Today</Table.Th>
          <Table.Th>Orders today (ok / failed)</Table.Th>
          <Table.Th>30 days: orders ok / failed</Table.Th>
          <Table.Th>30 days: refunds / disputes</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {currencies.map((currency) => {
          const rows = overview.days.filter((d) => d.currency === currency);
          const today = rows.find((d) => d.day === overview.today);
          return (
            <Table.Tr key={currency}>
              <Table.Td>{currency}</Table.Td>
              <Table.Td>{today ? `${today.volume} ${currency}` : '—'}</Table.Td>
              <Table.Td>{today ? `${today.succeeded} / ${today.failed}` : '0 / 0'}</Table.Td>
              <Table.Td>
                {sum(rows.map((d) => d.succeeded))} / {sum(rows.map((d) => d.failed))}
              </Table.Td>
              <Table.Td>
                {sum(rows.map((d) => d.refunds))} / {sum(rows.map((d) => d.disputes))}
              </Table.Td>
            </Table.Tr>
          );
        })}
      </Table.Tbody>
    </Table>
  );
}

function Queues({ overview }: { overview: Overview }) {
  const exceptions = sum(Object.values(overview.open_exceptions));
  const letters = sum(Object.values(overview.open_dead_letters));
  return (
    <SimpleGrid cols={{ base: 1, sm: 2 }}>
      <Card withBorder>
        <Text c="dimmed" size="sm">
          Reconciliation exceptions waiting
        </Text>
        <Anchor
          component={Link}
          to="/reconciliation?status=open"
          fz={28}
          fw={700}
          data-testid="open-exceptions"
        >
          {exceptions}
        </Anchor>
        <Group gap="xs">
          {Object.entries(overview.open_exceptions).map(([cls, n]) => (
            <Anchor key={cls} component={Link} to={`/reconciliation?status=open&class=${cls}`} size="sm">
              {cls}: {n}
            </Anchor>
          ))}
        </Group>
      </Card>
      <Card withBorder>
        <Text c="dimmed" size="sm">
          Dead letters waiting
        </Text>
        <Anchor component={Link} to="/dead-letters" fz={28} fw={700} data-testid="open-dead-letters">
          {letters}
        </Anchor>
        <Group gap="xs">
          {Object.entries(overview.open_dead_letters).map(([queue, n]) => (
            <Text key={queue} size="sm">
              {queue}: {n}
            </Text>
          ))}
        </Group>
      </Card>
    </SimpleGrid>
  );
}

export function HomePage() {
  const overview = useResource<Overview>('/dashboard/api/overview');
  return (
    <Loaded resource={overview}>
      {(data) => {
        const currencies = [...new Set(data.days.map((d) => d.currency))];
        const series = currencies.map((name, i) => ({ name, color: COLORS[i % COLORS.length] ?? 'gray.6' }));
        return (
          <Stack>
            <Title order={2}>Home</Title>
            <Queues overview={data} />
            <Totals overview={data} />
            <SimpleGrid cols={{ base: 1, lg: 2 }}>
              <Card withBorder>
                <Text fw={600} mb="sm">
                  Volume per day (last 30 days)
                </Text>
                <BarChart h={240} data={byDay(data, (d) => d.volume)} dataKey="day" series={series} />
              </Card>
              <Card withBorder>
                <Text fw={600} mb="sm">
                  Success rate per day (%)
                </Text>
                <LineChart h={240} data={byDay(data, (d) => d.success_rate)} dataKey="day" series={series} />
              </Card>
              <Card withBorder>
                <Text fw={600} mb="sm">
                  Refunded per day
                </Text>
                <BarChart h={200} data={byDay(data, (d) => d.refunded)} dataKey="day" series={series} />
              </Card>
              <Card withBorder>
                <Text fw={600} mb="sm">
                  Disputed per day
                </Text>
                <BarChart h={200} data={byDay(data, (d) => d.disputed)} dataKey="day" series={series} />
              </Card>
            </SimpleGrid>
          </Stack>
        );
      }}
    </Loaded>
  );
}
