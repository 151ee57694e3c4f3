using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AiGateway.IntegrationTests.Infrastructure;
using AiGateway.Ledger;
using AiGateway.Pricing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace AiGateway.BrowserTests;

/// <summary>
/// The operator console in headless Chromium: every action is driven through the page and its effect checked through the
/// admin or user API (not only on the page); destructive ones are tried with Cancel first, then confirmed.
/// </summary>
public sealed class OperatorConsoleTests(BrowserFixture f) : IClassFixture<BrowserFixture>
{
    private const int WaitMs = 15_000;
    private static readonly LocatorWaitForOptions Wait = new() { Timeout = WaitMs };

    /// <summary>A page signed in with the admin key; every URL it requests is recorded in <paramref name="urls"/>.</summary>
    private async Task<IPage> SignInAsync(List<string> errors, List<string> urls)
    {
        var page = await f.NewPageAsync(errors);
        page.Request += (_, request) => urls.Add(request.Url);
        await page.GotoAsync("/dashboard/");
        await page.FillAsync("#key", GatewayFactory.AdminKey);
        await page.PressAsync("#key", "Enter");
        await page.Locator("#accounts-view").WaitForAsync(Wait);
        // The catalogs fill the forms before anything else is shown.
        await page.Locator("#new-account-plan option[value='pro']").WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Attached, Timeout = WaitMs });
        return page;
    }

    private static async Task OpenAccountAsync(IPage page, Guid id)
    {
        await page.FillAsync("#account-search", id.ToString());
        await page.PressAsync("#account-search", "Enter");
        // The list that answers this search (the first list may still be replaced under the pointer otherwise).
        await page.Locator($"#account-list[data-search='{id}'] button[data-account-id='{id}']").ClickAsync(new LocatorClickOptions { Timeout = WaitMs });
        await page.Locator("#keys-table tbody tr, #keys-empty:not([hidden])").First.WaitForAsync(Wait);
        await ShownAvailableAsync(page);
    }

    private static async Task<decimal> ShownAvailableAsync(IPage page)
    {
        var available = page.Locator("#balance-available[data-value]:not([data-value=''])");
        await available.WaitForAsync(Wait);
        return decimal.Parse((await available.GetAttributeAsync("data-value"))!, CultureInfo.InvariantCulture);
    }

    /// <summary>Waits until the balance card shows <paramref name="expected"/> (it is redrawn after each action).</summary>
    private static Task WaitForShownAvailableAsync(IPage page, decimal expected) =>
        page.Locator($"#balance-available[data-value='{expected.ToString("0.######", CultureInfo.InvariantCulture)}']").WaitForAsync(Wait);

    private static async Task<string> NoticeAsync(IPage page)
    {
        await page.Locator("#console-notice:not([hidden])").WaitForAsync(Wait);
        return (await page.TextContentAsync("#console-notice"))!;
    }

    /// <summary>Waits for the confirmation dialog and answers it; returns the question it asked.</summary>
    private static async Task<string> AnswerDialogAsync(IPage page, bool confirm)
    {
        var dialog = page.Locator("#confirm-dialog[open]");
        await dialog.WaitForAsync(Wait);
        var text = (await page.TextContentAsync("#confirm-text"))!;
        await page.ClickAsync(confirm ? "#confirm-ok" : "#confirm-cancel");
        await page.Locator("#confirm-dialog").WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Hidden, Timeout = WaitMs });
        return text;
    }

    private async Task<JsonObject> AdminGetAsync(string url)
    {
        using var admin = f.Gateway.CreateAdminClient();
        return (await admin.GetFromJsonAsync<JsonObject>(url))!;
    }

    private Task<JsonObject> BalanceAsync(Guid account) => AdminGetAsync($"/admin/accounts/{account}/balance");

    private async Task<HttpStatusCode> ChatStatusAsync(string key)
    {
        using var http = f.Gateway.CreateKeyClient(key);
        using var response = await http.PostAsJsonAsync("/openai/v1/chat/completions",
            new { model = "gpt-4o", messages = new[] { new { role = "user", content = "hello" } } });
        return response.StatusCode;
    }

    /// <summary>The admin key went only into Authorization headers: never into a URL the page requested, never into localStorage.</summary>
    private static async Task AssertAdminKeyContainedAsync(IPage page, List<string> urls)
    {
        Assert.NotEmpty(urls);
        Assert.DoesNotContain(urls, u => u.Contains(GatewayFactory.AdminKey, StringComparison.Ordinal));
        Assert.DoesNotContain(GatewayFactory.AdminKey, page.Url, StringComparison.Ordinal);
        Assert.True(await page.EvaluateAsync<bool>("() => localStorage.length === 0"));
    }

    private static Task ScreenshotAsync(IPage page, string name) =>
        page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFixture.ScreenshotDir, name), FullPage = true });

    private static string Unique(string name) => $"{name}-{Guid.NewGuid().ToString("N")[..6]}";

    [Fact]
    public async Task CreateAccountAndIssueKey_KeyShownOnceWithCopy_WorksAndIsGoneAfterReload()
    {
        var errors = new List<string>();
        var urls = new List<string>();
        var page = await SignInAsync(errors, urls);
        await page.Context.GrantPermissionsAsync(["clipboard-read", "clipboard-write"]);
        var name = Unique("console-new");

        await page.FillAsync("#new-account-name", name);
        await page.SelectOptionAsync("#new-account-plan", "free");
        await page.ClickAsync("#create-account-form button[type=submit]");
        Assert.Contains(name, await NoticeAsync(page));

        // The account exists on the server, with the plan picked (and its credits issued).
        var found = await AdminGetAsync("/admin/accounts?search=" + name);
        var account = Assert.Single(found["items"]!.AsArray())!;
        Assert.Equal("free", account["plan"]!.GetValue<string>());
        var id = Guid.Parse(account["id"]!.GetValue<string>());
        Assert.Contains(name, await page.TextContentAsync("#who-text"));
        Assert.Equal(10m, await ShownAvailableAsync(page));

        await page.FillAsync("#key-name", "ci");
        await page.ClickAsync("#key-form button[type=submit]");
        await page.Locator("#new-key:not([hidden])").WaitForAsync(Wait);
        var key = await page.InputValueAsync("#new-key-value");
        Assert.StartsWith("agw_", key);
        await page.ClickAsync("#new-key-copy");
        await page.Locator("#new-key-copy", new PageLocatorOptions { HasText = "Copied" }).WaitForAsync(Wait);
        Assert.Equal(key, await page.EvaluateAsync<string>("() => navigator.clipboard.readText()"));

        // The server has exactly this key (by prefix) and it works for a real call.
        var keys = (await AdminGetAsync($"/admin/accounts/{id}/keys"))["items"]!.AsArray();
        Assert.Equal(key[..12], Assert.Single(keys)!["prefix"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, await ChatStatusAsync(key));
        await page.Locator($"#keys-table tbody tr[data-key-id='{keys[0]!["id"]!.GetValue<string>()}']").WaitForAsync(Wait);

        // Kept nowhere: after a reload the account view is back but the key is not shown or stored anywhere.
        await page.ReloadAsync();
        await page.Locator("#keys-table tbody tr").First.WaitForAsync(Wait);
        Assert.True(await page.IsHiddenAsync("#new-key"));
        Assert.Equal("", await page.InputValueAsync("#new-key-value"));
        Assert.DoesNotContain(key, await page.ContentAsync(), StringComparison.Ordinal);
        Assert.DoesNotContain(key[4..], await page.EvaluateAsync<string>("() => JSON.stringify(sessionStorage) + JSON.stringify(localStorage)"),
            StringComparison.Ordinal);
        Assert.Contains(key[..12], await page.TextContentAsync("#keys-table tbody"));
        await AssertAdminKeyContainedAsync(page, urls);
        Assert.Empty(errors);
    }

    [Fact]
    public async Task GrantCredits_BalanceChangesOnServerAndPage_EachGrantGetsItsOwnIdempotencyKey()
    {
        var (id, key) = await f.Gateway.CreateAccountWithKeyAsync(Unique("console-grant"), 10);
        var errors = new List<string>();
        var urls = new List<string>();
        var page = await SignInAsync(errors, urls);
        await OpenAccountAsync(page, id);
        Assert.Equal(10m, await ShownAvailableAsync(page));

        for (var i = 1; i <= 2; i++)
        {
            await page.SelectOptionAsync("#grant-kind", "bonus");
            await page.FillAsync("#grant-credits", "25.5");
            await page.FillAsync("#grant-days", "7");
            await page.FillAsync("#grant-reason", "Goodwill");
            await page.ClickAsync("#grant-form button[type=submit]");
            Assert.StartsWith("Granted 25.5 bonus credits", await NoticeAsync(page));
            await WaitForShownAvailableAsync(page, 10m + 25.5m * i);
        }

        // Two grants of the same parameters are two lots: the console made a new idempotency key for each.
        Assert.Equal(61m, await f.AvailableAsync(key));
        var lots = (await BalanceAsync(id))["lots"]!.AsArray().Where(l => l!["kind"]!.GetValue<string>() == "bonus").ToList();
        Assert.Equal(2, lots.Count);
        Assert.All(lots, l => Assert.Equal(25.5m, l!["amount"]!.GetValue<decimal>()));
        var expires = lots[0]!["expiresAt"]!.GetValue<DateTimeOffset>();
        Assert.InRange(expires, DateTimeOffset.UtcNow.AddDays(7).AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(7).AddMinutes(5));
        await page.Locator("#ledger-table tbody tr[data-type='grant']").Nth(2).WaitForAsync(Wait);
        await AssertAdminKeyContainedAsync(page, urls);
        Assert.Empty(errors);
    }

    [Fact]
    public async Task GrantCredits_AnswerLostAndSentAgain_GrantsOnce()
    {
        var (id, key) = await f.Gateway.CreateAccountWithKeyAsync(Unique("console-retry"), 10);
        var errors = new List<string>();
        var page = await SignInAsync(errors, []);
        await OpenAccountAsync(page, id);
        // The first grant reaches the server and is applied, but its answer never reaches the page.
        var lost = 0;
        await page.RouteAsync("**/grants", async route =>
        {
            if (Interlocked.Increment(ref lost) == 1)
            {
                await route.FetchAsync();
                await route.AbortAsync();
                return;
            }
            await route.ContinueAsync();
        });

        await page.FillAsync("#grant-credits", "5");
        await page.FillAsync("#grant-reason", "Retry check");
        await page.ClickAsync("#grant-form button[type=submit]");
        await page.Locator("#console-error:not([hidden])").WaitForAsync(Wait);
        Assert.Contains("could not be reached", await page.TextContentAsync("#console-error"));
        await page.ClickAsync("#grant-form button[type=submit]");

        // Sent again under the same idempotency key: the server answers with the first grant.
        Assert.StartsWith("Already granted 5 addon credits", await NoticeAsync(page));
        Assert.Equal(15m, await f.AvailableAsync(key));
        Assert.Single((await BalanceAsync(id))["lots"]!.AsArray(), l => l!["reason"]!.GetValue<string>() == "Retry check");
        Assert.Equal(2, lost);
        // The browser may log the aborted request; nothing else may fail.
        Assert.DoesNotContain(errors, e => !e.Contains("ERR_FAILED", StringComparison.Ordinal));
    }

    [Fact]
    public async Task GrantCredits_ApiRefuses_ShowsTheProblemDetailInWordsAndGrantsNothing()
    {
        var (id, key) = await f.Gateway.CreateAccountWithKeyAsync(Unique("console-bad-grant"), 10);
        var errors = new List<string>();
        var page = await SignInAsync(errors, []);
        await OpenAccountAsync(page, id);

        await page.FillAsync("#grant-credits", "-5");
        await page.FillAsync("#grant-reason", "Too small");
        await page.ClickAsync("#grant-form button[type=submit]");
        await page.Locator("#console-error:not([hidden])").WaitForAsync(Wait);
        Assert.Equal("Could not grant credits: credits must be positive.", await page.TextContentAsync("#console-error"));

        await page.FillAsync("#grant-credits", "1");
        await page.FillAsync("#grant-days", "5000");
        await page.ClickAsync("#grant-form button[type=submit]");
        await page.Locator("#console-error", new PageLocatorOptions { HasText = "validDays" }).WaitForAsync(Wait);
        Assert.Equal("Could not grant credits: validDays must be between 1 and 3650.", await page.TextContentAsync("#console-error"));

        Assert.Equal(10m, await f.AvailableAsync(key));
        Assert.Single((await BalanceAsync(id))["lots"]!.AsArray());
        // The browser logs the refused requests; nothing else failed.
        Assert.DoesNotContain(errors, e => !e.Contains("400", StringComparison.Ordinal));
    }

    [Fact]
    public async Task IssuePack_FromTheCatalog_AddsThePacksLot()
    {
        var (id, key) = await f.Gateway.CreateAccountWithKeyAsync(Unique("console-pack"), 10);
        var errors = new List<string>();
        var page = await SignInAsync(errors, []);
        await OpenAccountAsync(page, id);
        // The form offers exactly the catalog the API lists.
        var offered = await page.Locator("#pack-id option").EvaluateAllAsync<string[]>("o => o.map(x => x.value)");
        var catalog = (await AdminGetAsync("/admin/packs"))["packs"]!.AsArray().Select(p => p!["id"]!.GetValue<string>());
        Assert.Equal(catalog, offered);

        await page.SelectOptionAsync("#pack-id", "topup-medium");
        await page.ClickAsync("#pack-form button[type=submit]");

        Assert.Equal("Issued Top-up 1,200: 1,200 credits.", await NoticeAsync(page));
        await WaitForShownAvailableAsync(page, 1210m);
        Assert.Equal(1210m, await f.AvailableAsync(key));
        var lot = Assert.Single((await BalanceAsync(id))["lots"]!.AsArray(), l => l!["amount"]!.GetValue<decimal>() == 1200m)!;
        Assert.Equal("addon", lot["kind"]!.GetValue<string>());
        Assert.Empty(errors);
    }

    [Fact]
    public async Task RevokeKey_CancelKeepsIt_ConfirmRevokesAndARealCallGets401()
    {
        var (id, key) = await f.Gateway.CreateAccountWithKeyAsync(Unique("console-revoke-key"), 10);
        var errors = new List<string>();
        var page = await SignInAsync(errors, []);
        await OpenAccountAsync(page, id);
        var keyId = (await AdminGetAsync($"/admin/accounts/{id}/keys"))["items"]![0]!["id"]!.GetValue<string>();
        var row = page.Locator($"#keys-table tbody tr[data-key-id='{keyId}']");

        await row.Locator("button.revoke-key").ClickAsync();
        await page.Locator("#confirm-dialog[open]").WaitForAsync(Wait);
        await ScreenshotAsync(page, "console-confirm.png");
        Assert.Contains(key[..12], await AnswerDialogAsync(page, confirm: false));

        Assert.Null((await AdminGetAsync($"/admin/accounts/{id}/keys"))["items"]![0]!["revokedAt"]);
        Assert.Equal(HttpStatusCode.OK, await ChatStatusAsync(key));
        Assert.Equal("active", await row.Locator("td").Nth(4).TextContentAsync());

        await row.Locator("button.revoke-key").ClickAsync();
        await AnswerDialogAsync(page, confirm: true);
        Assert.Contains("revoked", await NoticeAsync(page));

        Assert.NotNull((await AdminGetAsync($"/admin/accounts/{id}/keys"))["items"]![0]!["revokedAt"]);
        Assert.Equal(HttpStatusCode.Unauthorized, await ChatStatusAsync(key));
        Assert.StartsWith("revoked", await row.Locator("td").Nth(4).TextContentAsync());
        Assert.Equal(0, await row.Locator("button.revoke-key").CountAsync());
        Assert.Empty(errors);
    }

    [Fact]
    public async Task ChangePlan_CancelKeepsIt_ConfirmChangesItOnTheServer()
    {
        var (id, key) = await f.Gateway.CreateAccountWithKeyAsync(Unique("console-plan"), 10);
        var errors = new List<string>();
        var page = await SignInAsync(errors, []);
        await OpenAccountAsync(page, id);

        await page.SelectOptionAsync("#plan-name", "pro");
        await page.ClickAsync("#plan-form button[type=submit]");
        Assert.Contains("to pro", await AnswerDialogAsync(page, confirm: false));

        Assert.Null((await AdminGetAsync($"/admin/accounts/{id}"))["plan"]);
        Assert.Equal(10m, await f.AvailableAsync(key));
        Assert.Equal("", await page.InputValueAsync("#plan-name"));

        await page.SelectOptionAsync("#plan-name", "pro");
        await page.ClickAsync("#plan-form button[type=submit]");
        await AnswerDialogAsync(page, confirm: true);

        Assert.StartsWith("Plan changed: no plan → pro", await NoticeAsync(page));
        Assert.Equal("pro", (await AdminGetAsync($"/admin/accounts/{id}"))["plan"]!.GetValue<string>());
        Assert.Equal(1310m, await f.AvailableAsync(key));
        await WaitForShownAvailableAsync(page, 1310m);
        Assert.Equal("pro", await page.TextContentAsync("#balance-plan"));
        Assert.Empty(errors);
    }

    [Fact]
    public async Task RevokeLot_CancelKeepsIt_ConfirmRevokesTheRemainder()
    {
        var (id, key) = await f.Gateway.CreateAccountWithKeyAsync(Unique("console-revoke-lot"), 40);
        var errors = new List<string>();
        var page = await SignInAsync(errors, []);
        await OpenAccountAsync(page, id);
        var lotId = (await BalanceAsync(id))["lots"]![0]!["id"]!.GetValue<long>();
        var revoke = page.Locator($"#lots-table tbody tr[data-lot-id='{lotId}'] button.revoke-lot");

        await revoke.ClickAsync();
        Assert.Contains("40 unspent credits", await AnswerDialogAsync(page, confirm: false));
        Assert.Equal(40m, await f.AvailableAsync(key));

        await revoke.ClickAsync();
        await AnswerDialogAsync(page, confirm: true);

        Assert.Equal("Revoked 40 credits.", await NoticeAsync(page));
        Assert.Equal(0m, await f.AvailableAsync(key));
        await WaitForShownAvailableAsync(page, 0m);
        await page.Locator("#ledger-table tbody tr[data-type='revoke']").WaitForAsync(Wait);
        Assert.Equal(HttpStatusCode.PaymentRequired, await ChatStatusAsync(key));
        Assert.Empty(errors);
    }

    [Fact]
    public async Task AccountView_ShowsActiveHoldsAndCallsWithRequestIdAndDuration()
    {
        var (id, key) = await f.Gateway.CreateAccountWithKeyAsync(Unique("console-holds"), 20);
        var requestId = await f.MeteredCallAsync(key);
        var holdId = "hold-" + Guid.NewGuid().ToString("N")[..8];
        var ledger = f.Gateway.Services.GetRequiredService<CreditLedger>();
        Assert.Equal(ReserveStatus.Reserved, (await ledger.ReserveAsync(id, Credits.FromDecimal(1.25m), holdId, task: "agent-9")).Status);
        try
        {
            var errors = new List<string>();
            var page = await SignInAsync(errors, []);
            await OpenAccountAsync(page, id);

            var hold = page.Locator($"#holds-table tbody tr[data-request-id='{holdId}']");
            await hold.WaitForAsync(Wait);
            var holdCells = await hold.Locator("td").AllTextContentsAsync();
            Assert.Equal([holdId, "1.25", "agent-9"], holdCells.Skip(1).Take(3));
            Assert.Equal("1.25", await page.TextContentAsync("#balance-held"));

            var call = (await AdminGetAsync($"/admin/accounts/{id}/usage"))["items"]![0]!;
            var row = page.Locator($"#usage-table tbody tr[data-request-id='{requestId}']");
            await row.WaitForAsync(Wait);
            var cells = await row.Locator("td").AllTextContentsAsync();
            Assert.Equal(call["durationMs"]!.GetValue<int>().ToString("N0", CultureInfo.InvariantCulture) + " ms", cells[8]);
            Assert.Equal(requestId, cells[10]);
            await ScreenshotAsync(page, "console-account.png");
            Assert.Empty(errors);
        }
        finally
        {
            await ledger.ReleaseAsync(holdId);
        }
    }

    [Fact]
    public async Task AccountNamedLikeMarkup_RendersAsTextEverywhere()
    {
        const string name = "<img src=x onerror=\"window.__xss=1\"><b>bold</b>";
        var errors = new List<string>();
        var page = await SignInAsync(errors, []);

        // Created through the console's own form, then found in the list and opened.
        await page.FillAsync("#new-account-name", name);
        await page.ClickAsync("#create-account-form button[type=submit]");
        Assert.Equal($"Account “{name}” created.", await NoticeAsync(page));
        Assert.Equal($"Operator · {name}", await page.TextContentAsync("#who-text"));
        var id = Guid.Parse((await AdminGetAsync("/admin/accounts?search=" + Uri.EscapeDataString("<img src=x")))["items"]![0]!["id"]!.GetValue<string>());
        using (var admin = f.Gateway.CreateAdminClient())
        {
            (await admin.PostAsJsonAsync($"/admin/accounts/{id}/grants", new { kind = "bonus", credits = 3, reason = name })).EnsureSuccessStatusCode();
        }
        await page.ClickAsync("#switch-account");
        await page.FillAsync("#account-search", id.ToString());
        await page.PressAsync("#account-search", "Enter");
        var entry = page.Locator($"#account-list[data-search='{id}'] button[data-account-id='{id}'] strong");
        await entry.WaitForAsync(Wait);
        Assert.Equal(name, await entry.TextContentAsync());
        await entry.ClickAsync();
        await page.Locator("#lots-table tbody tr button.revoke-lot").First.WaitForAsync(Wait);
        await page.Locator("#lots-table tbody tr button.revoke-lot").First.ClickAsync();
        Assert.Contains(name, await AnswerDialogAsync(page, confirm: false));

        Assert.Equal(0, await page.Locator("main img, main b, dialog img").CountAsync());
        Assert.Contains(name, await page.Locator("#lots-table").TextContentAsync());
        Assert.False(await page.EvaluateAsync<bool>("() => window.__xss === 1"));
        Assert.Empty(errors);
    }

    [Fact]
    public async Task PhoneViewport_Console_HasNoHorizontalOverflow()
    {
        var (id, key) = await f.Gateway.CreateAccountWithKeyAsync(Unique("console-phone"), 10);
        await f.MeteredCallAsync(key);
        var errors = new List<string>();
        var page = await f.NewPageAsync(errors, width: 390, height: 844, mobile: true);
        await page.GotoAsync("/dashboard/");
        await page.FillAsync("#key", GatewayFactory.AdminKey);
        await page.PressAsync("#key", "Enter");
        await page.Locator("#accounts-view").WaitForAsync(Wait);
        await OpenAccountAsync(page, id);
        await page.FillAsync("#key-name", "phone");
        await page.ClickAsync("#key-form button[type=submit]");
        await page.Locator("#new-key:not([hidden])").WaitForAsync(Wait);

        await ScreenshotAsync(page, "console-phone.png");
        var widths = await page.EvaluateAsync<int[]>("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]");
        // Names the elements that stick out, so a failure says where.
        var wide = await page.EvaluateAsync<string[]>(
            "w => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > w + 1 && !e.closest('.table-wrap'))" +
            ".map(e => `${e.tagName}#${e.id}.${e.className}`).slice(0, 10)", widths[1]);
        Assert.True(widths[0] <= widths[1], $"page is {widths[0]}px wide in a {widths[1]}px viewport: {string.Join(", ", wide)}");
        Assert.Empty(errors);
    }

    [Fact]
    public async Task SignIn_WrongAdminKey_ShowsClearErrorAndKeepsNothing()
    {
        var errors = new List<string>();
        var page = await f.NewPageAsync(errors);
        await page.GotoAsync("/dashboard/");

        await page.FillAsync("#key", "not-the-admin-key");
        await page.PressAsync("#key", "Enter");

        var message = page.Locator("#signin-error:not([hidden])");
        await message.WaitForAsync(Wait);
        Assert.Contains("the admin key must match the gateway's Gateway:AdminKey", await message.TextContentAsync());
        Assert.True(await page.IsHiddenAsync("#accounts-view"));
        Assert.True(await page.IsHiddenAsync("#console"));
        Assert.True(await page.EvaluateAsync<bool>("() => sessionStorage.length === 0 && localStorage.length === 0"));
        Assert.Contains(errors, e => e.Contains("401", StringComparison.Ordinal));
        Assert.DoesNotContain(errors, e => !e.Contains("401", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ConsoleSession_DebugLogs_NeverContainTheAdminKeyOrTheIssuedKey()
    {
        // A gateway of its own logging everything down to Debug (ASP.NET Core's request lines carry full URLs) to a file.
        var logPath = Path.Combine(Path.GetTempPath(), "aigw-browser-tests", "console-log-" + Guid.NewGuid().ToString("N") + ".txt");
        await using var host = new DashboardHost(f.Upstream, new Dictionary<string, string?>
        {
            ["Serilog:MinimumLevel:Default"] = "Debug",
            ["Serilog:MinimumLevel:Override:Microsoft"] = "Debug",
            ["Serilog:Using:1"] = "Serilog.Sinks.File",
            ["Serilog:WriteTo:0:Name"] = "File",
            ["Serilog:WriteTo:0:Args:path"] = logPath,
            ["Serilog:WriteTo:0:Args:shared"] = "true",
            ["Serilog:WriteTo:0:Args:flushToDiskInterval"] = "00:00:00.100",
        });
        await using var context = await f.Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = host.BaseAddress.ToString(), Locale = "en-US" });
        var page = await context.NewPageAsync();
        try
        {
            await page.GotoAsync("/dashboard/");
            await page.FillAsync("#key", GatewayFactory.AdminKey);
            await page.PressAsync("#key", "Enter");
            await page.Locator("#accounts-view").WaitForAsync(Wait);
            await page.Locator("#new-account-plan option[value='pro']").WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Attached, Timeout = WaitMs });
            await page.FillAsync("#new-account-name", Unique("console-logs"));
            await page.ClickAsync("#create-account-form button[type=submit]");
            await NoticeAsync(page);
            await page.ClickAsync("#key-form button[type=submit]");
            await page.Locator("#new-key:not([hidden])").WaitForAsync(Wait);
            var key = await page.InputValueAsync("#new-key-value");
            await page.FillAsync("#grant-credits", "2");
            await page.FillAsync("#grant-reason", "Log check");
            await page.ClickAsync("#grant-form button[type=submit]");
            await page.Locator("#console-notice", new PageLocatorOptions { HasText = "Granted 2" }).WaitForAsync(Wait);
            await page.Locator("#keys-table tbody tr button.revoke-key").ClickAsync();
            await AnswerDialogAsync(page, confirm: true);
            await page.Locator("#console-notice", new PageLocatorOptions { HasText = "revoked" }).WaitForAsync(Wait);
            await page.ClickAsync("#signout");

            // The log has the session's admin requests (so the check below reads a real log), and no key in any form.
            var log = "";
            for (var i = 0; i < 100 && !log.Contains("/admin/keys/", StringComparison.Ordinal); i++)
            {
                await Task.Delay(100);
                if (!File.Exists(logPath)) continue;
                await using var stream = new FileStream(logPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                log = await new StreamReader(stream).ReadToEndAsync();
            }
            Assert.Contains("/admin/accounts", log, StringComparison.Ordinal);
            Assert.Contains("/admin/keys/", log, StringComparison.Ordinal);
            Assert.DoesNotContain(GatewayFactory.AdminKey, log, StringComparison.Ordinal);
            Assert.DoesNotContain(key, log, StringComparison.Ordinal);
            Assert.DoesNotContain(key[12..], log, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(logPath);
        }
    }

    [Fact]
    public async Task SignOut_ForgetsTheAdminKey()
    {
        var errors = new List<string>();
        var urls = new List<string>();
        var page = await SignInAsync(errors, urls);
        Assert.Equal(GatewayFactory.AdminKey, await page.EvaluateAsync<string>("() => sessionStorage.getItem('aigw.key')"));

        await page.ClickAsync("#signout");
        await page.ReloadAsync();

        await page.Locator("#signin-view").WaitForAsync(Wait);
        Assert.True(await page.EvaluateAsync<bool>("() => sessionStorage.length === 0"));
        Assert.True(await page.IsHiddenAsync("#accounts-view"));
        await AssertAdminKeyContainedAsync(page, urls);
        Assert.Empty(errors);
    }
}
