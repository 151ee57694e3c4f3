using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace AiGateway.IntegrationTests.Dashboard;

/// <summary>The admin CSV exports, parsed back with a strict RFC 4180 reader and compared with the JSON APIs.</summary>
public abstract class CsvExportTestsBase(AccountApiFixture f)
{
    private async Task<(HttpResponseMessage Response, string Body)> GetCsvAsync(string url)
    {
        // A plain socket client, so the transfer encoding is what Kestrel really sent.
        using var admin = new HttpClient { BaseAddress = f.Gateway.BaseAddress };
        admin.DefaultRequestHeaders.Authorization = new("Bearer", Infrastructure.GatewayFactory.AdminKey);
        var response = await admin.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);
        Assert.True(response.IsSuccessStatusCode, $"{url}: {(int)response.StatusCode}");
        return (response, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AccountUsageCsv_OneRowPerCallOldestFirst_MatchingTheUsageApi()
    {
        var (response, body) = await GetCsvAsync($"/admin/accounts/{f.AccountA}/usage.csv");
        var (header, rows) = Csv.ParseWithHeader(body);

        Assert.Equal("text/csv", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal($"usage-{f.AccountA}.csv", response.Content.Headers.ContentDisposition?.FileNameStar ?? response.Content.Headers.ContentDisposition?.FileName);
        // Streamed: the header row is sent before the rows are read, so the length is not known up front.
        Assert.True(response.Headers.TransferEncodingChunked);
        Assert.Equal(["started_at", "request_id", "key_id"], header[..3]);
        Assert.Equal(f.CallsA, rows.Select(r => r["request_id"]));
        var usage = (await f.A.Http.GetFromJsonAsync<JsonObject>("/v1/credits/usage"))!["items"]!.AsArray();
        foreach (var call in usage)
        {
            var row = rows.Single(r => r["request_id"] == call!["requestId"]!.GetValue<string>());
            Assert.Equal(call!["credits"]!.GetValue<decimal>(), decimal.Parse(row["credits"], System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(call["inputTokens"]!.GetValue<long>(), long.Parse(row["input_tokens"]));
            Assert.Equal(call["status"]!.GetValue<int>(), int.Parse(row["status"]));
            Assert.Equal(call["model"]!.GetValue<string>(), row["model"]);
            Assert.Equal(call["usageClamped"]!.GetValue<bool>() ? "true" : "false", row["usage_clamped"]);
            Assert.Equal(call["startedAt"]!.GetValue<DateTimeOffset>().ToUnixTimeMilliseconds(), DateTimeOffset.Parse(row["started_at"]).ToUnixTimeMilliseconds());
        }
        // The feature tag with a comma and quotes survives quoting.
        Assert.Equal("chat, \"summary\"", rows[1]["feature"]);
    }

    [Fact]
    public async Task AccountUsageCsv_RangeBeforeTheCalls_HasOnlyTheHeader()
    {
        var (_, body) = await GetCsvAsync($"/admin/accounts/{f.AccountA}/usage.csv?from=2020-01-01&to=2020-02-01");

        var (header, rows) = Csv.ParseWithHeader(body);
        Assert.Equal("started_at", header[0]);
        Assert.Empty(rows);
    }

    [Fact]
    public async Task AllUsageCsv_IncludesEveryAccountWithQuotedNames()
    {
        var (_, body) = await GetCsvAsync("/admin/usage.csv");
        var (header, rows) = Csv.ParseWithHeader(body);

        Assert.Equal(["account_id", "account_name", "started_at"], header[..3]);
        Assert.Equal(4, rows.Count(r => r["account_id"] == f.AccountA.ToString()));
        Assert.All(rows.Where(r => r["account_id"] == f.AccountA.ToString()), r => Assert.Equal(AccountApiFixture.NameA, r["account_name"]));
        var b = Assert.Single(rows, r => r["account_id"] == f.AccountB.ToString());
        Assert.Equal(f.CallB, b["request_id"]);
        Assert.Equal("beta-other", b["account_name"]);
    }

    [Fact]
    public async Task AccountLedgerCsv_EveryMovementWithBalanceAfter_MatchingTheLedgerApi()
    {
        var (_, body) = await GetCsvAsync($"/admin/accounts/{f.AccountA}/ledger.csv");
        var (header, rows) = Csv.ParseWithHeader(body);
        var api = (await f.A.Http.GetFromJsonAsync<JsonObject>("/v1/credits/ledger?type=all&limit=200"))!["items"]!.AsArray();

        Assert.Equal("id", header[0]);
        Assert.Equal(api.Select(i => i!["id"]!.GetValue<long>()).Reverse(), rows.Select(r => long.Parse(r["id"])));
        foreach (var entry in api)
        {
            var row = rows.Single(r => long.Parse(r["id"]) == entry!["id"]!.GetValue<long>());
            Assert.Equal(entry!["type"]!.GetValue<string>(), row["type"]);
            Assert.Equal(entry["direction"]!.GetValue<string>(), row["direction"]);
            Assert.Equal(entry["availableAfter"]!.GetValue<decimal>(), decimal.Parse(row["available_after"], System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(entry["amount"]!.GetValue<decimal>(), decimal.Parse(row["amount"], System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(entry["model"]?.GetValue<string>() ?? "", row["model"]);
            Assert.Equal(entry["lotKind"]?.GetValue<string>() ?? "", row["lot_kind"]);
        }
        Assert.Equal("grant", rows[0]["type"]);
        Assert.Equal("test grant", rows[0]["lot_reason"]);
    }

    [Fact]
    public async Task AccountLedgerCsv_TypeFilter_OnlyThoseRows()
    {
        var (_, body) = await GetCsvAsync($"/admin/accounts/{f.AccountA}/ledger.csv?type=settle");

        var (_, rows) = Csv.ParseWithHeader(body);
        Assert.Equal(3, rows.Count);
        Assert.All(rows, r => Assert.Equal("settle", r["type"]));
    }
}

/// <summary>The tests above on the default SQLite ledger.</summary>
[Collection(AccountApiCollection.Name)]
public sealed class CsvExportTests(AccountApiFixture f) : CsvExportTestsBase(f);

/// <summary>The tests above on PostgreSQL, where the same LINQ becomes different SQL.</summary>
[Collection(PostgresAccountApiCollection.Name)]
public sealed class CsvExportTestsPostgres(PostgresAccountApiFixture f) : CsvExportTestsBase(f);
