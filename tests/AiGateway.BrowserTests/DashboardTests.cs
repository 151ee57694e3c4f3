using System.Globalization;
using System.Net.Http.Json;
using Microsoft.Playwright;

namespace AiGateway.BrowserTests;

/// <summary>The dashboard in headless Chromium against the real gateway: sign-in, balance, usage after a call, bad key, phone width, operator view.</summary>
public sealed class DashboardTests(BrowserFixture f) : IClassFixture<BrowserFixture>
{
    private const int WaitMs = 15_000;

    private static async Task SignInAsync(IPage page, string key)
    {
        await page.GotoAsync("/dashboard/");
        await page.FillAsync("#key", key);
        await page.PressAsync("#key", "Enter");
    }

    /// <summary>Waits until the balance card shows a number and returns it.</summary>
    private static async Task<decimal> ShownAvailableAsync(IPage page)
    {
        var available = page.Locator("#balance-available[data-value]:not([data-value=''])");
        await available.WaitForAsync(new LocatorWaitForOptions { Timeout = WaitMs });
        return decimal.Parse((await available.GetAttributeAsync("data-value"))!, CultureInfo.InvariantCulture);
    }

    private static Task ScreenshotAsync(IPage page, string name) =>
        page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFixture.ScreenshotDir, name), FullPage = true });

    [Fact]
    public async Task SignIn_GatewayKey_ShowsBalanceEqualToCreditsApi()
    {
        var (_, key) = await f.Gateway.CreateAccountWithKeyAsync("signin", 120);
        await f.MeteredCallAsync(key);
        var errors = new List<string>();
        var page = await f.NewPageAsync(errors);

        await SignInAsync(page, key);

        Assert.Equal(await f.AvailableAsync(key), await ShownAvailableAsync(page));
        Assert.Equal("119.98525", await page.TextContentAsync("#balance-available"));
        // The add-on lot expires in three days: the card says so.
        Assert.Matches(@"119\.98525 credits expire in 3 days", await page.TextContentAsync("#balance-expiry"));
        Assert.Equal("addon", await page.Locator("#lots-table tbody tr td").First.TextContentAsync());
        await page.Locator("#usage-table tbody tr").First.WaitForAsync(new LocatorWaitForOptions { Timeout = WaitMs });
        await page.Locator("#ledger-table tbody tr[data-type='grant']").WaitForAsync(new LocatorWaitForOptions { Timeout = WaitMs });
        Assert.Equal("gpt-4o", await page.Locator("#usage-model option[value='gpt-4o']").TextContentAsync());
        Assert.True(await page.EvaluateAsync<bool>("() => sessionStorage.getItem('aigw.key') !== null && localStorage.length === 0"));
        await ScreenshotAsync(page, "dashboard-laptop.png");
        Assert.Empty(errors);
    }

    [Fact]
    public async Task Reload_AfterMeteredCall_ShowsNewUsageRowAndUpdatedBalance()
    {
        var (_, key) = await f.Gateway.CreateAccountWithKeyAsync("reload", 50);
        var errors = new List<string>();
        var page = await f.NewPageAsync(errors);
        await SignInAsync(page, key);
        Assert.Equal(50m, await ShownAvailableAsync(page));
        await page.Locator("#usage-empty").WaitForAsync(new LocatorWaitForOptions { Timeout = WaitMs });

        var requestId = await f.MeteredCallAsync(key);
        await page.ReloadAsync();

        // Signed in still (sessionStorage), with the call's row and the charged balance.
        var row = page.Locator($"#usage-table tbody tr[data-request-id='{requestId}']");
        await row.WaitForAsync(new LocatorWaitForOptions { Timeout = WaitMs });
        var cells = await row.Locator("td").AllTextContentsAsync();
        // Duration and request id come from the same call record the API shows.
        using var http = f.Gateway.CreateKeyClient(key);
        var call = await http.GetFromJsonAsync<System.Text.Json.Nodes.JsonObject>($"/v1/credits/calls/{requestId}");
        var duration = call!["durationMs"]!.GetValue<int>().ToString("N0", CultureInfo.InvariantCulture) + " ms";
        Assert.Equal(["gpt-4o", "19", "10", "0", "0", "0.01475", "200", duration, "provider", requestId], cells.Skip(1));
        Assert.Equal(50m - 0.01475m, await ShownAvailableAsync(page));
        Assert.Equal(await f.AvailableAsync(key), await ShownAvailableAsync(page));
        Assert.Empty(errors);
    }

    [Fact]
    public async Task UsageFilters_ModelAndDates_NarrowTheTable()
    {
        var (_, key) = await f.Gateway.CreateAccountWithKeyAsync("filters", 20);
        await f.MeteredCallAsync(key, "gpt-4o");
        var mini = await f.MeteredCallAsync(key, "gpt-4o-mini");
        var errors = new List<string>();
        var page = await f.NewPageAsync(errors);
        await SignInAsync(page, key);
        var rows = page.Locator("#usage-table tbody tr");
        await page.Locator("#usage-table tbody tr").Nth(1).WaitForAsync(new LocatorWaitForOptions { Timeout = WaitMs });

        await page.SelectOptionAsync("#usage-model", "gpt-4o-mini");
        await page.ClickAsync("#usage-filters button[type=submit]");
        await page.WaitForFunctionAsync("() => document.querySelectorAll('#usage-table tbody tr').length === 1", null,
            new PageWaitForFunctionOptions { Timeout = WaitMs });
        Assert.Equal(mini, await rows.First.GetAttributeAsync("data-request-id"));

        var tomorrow = DateTime.Now.AddDays(1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        await page.FillAsync("#usage-from", tomorrow);
        await page.ClickAsync("#usage-filters button[type=submit]");
        await page.Locator("#usage-empty").WaitForAsync(new LocatorWaitForOptions { Timeout = WaitMs });
        Assert.Equal(0, await rows.CountAsync());
        Assert.Empty(errors);
    }

    [Fact]
    public async Task SignIn_BadKey_ShowsClearMessageAndStaysSignedOut()
    {
        var errors = new List<string>();
        var page = await f.NewPageAsync(errors);

        await SignInAsync(page, "agw_thisKeyDoesNotExist000000000000000000000");

        var message = page.Locator("#signin-error");
        await message.WaitForAsync(new LocatorWaitForOptions { Timeout = WaitMs });
        Assert.Contains("not accepted", await message.TextContentAsync());
        Assert.True(await page.IsHiddenAsync("#account-view"));
        Assert.Null(await page.EvaluateAsync<string?>("() => sessionStorage.getItem('aigw.key')"));
        await ScreenshotAsync(page, "dashboard-bad-key.png");
        // The browser itself logs the refused request (which also shows the console collector works); nothing else may fail.
        Assert.Contains(errors, e => e.Contains("401"));
        Assert.DoesNotContain(errors, e => !e.Contains("401"));
    }

    [Fact]
    public async Task PhoneViewport_SignedIn_HasNoHorizontalOverflow()
    {
        var (_, key) = await f.Gateway.CreateAccountWithKeyAsync("phone", 10);
        await f.MeteredCallAsync(key);
        var errors = new List<string>();
        var page = await f.NewPageAsync(errors, width: 390, height: 844, mobile: true);

        await SignInAsync(page, key);
        await ShownAvailableAsync(page);
        await page.Locator("#usage-table tbody tr").First.WaitForAsync(new LocatorWaitForOptions { Timeout = WaitMs });

        var widths = await page.EvaluateAsync<int[]>("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]");
        Assert.True(widths[0] <= widths[1], $"page is {widths[0]}px wide in a {widths[1]}px viewport");
        await ScreenshotAsync(page, "dashboard-phone.png");
        Assert.Empty(errors);
    }

    [Fact]
    public async Task AdminKey_PickAccountFromSearch_ShowsThatAccountAndExportsItsUsage()
    {
        var name = "operator-view-" + Guid.NewGuid().ToString("N")[..6];
        var (_, key) = await f.Gateway.CreateAccountWithKeyAsync(name, 75);
        var requestId = await f.MeteredCallAsync(key);
        var errors = new List<string>();
        var page = await f.NewPageAsync(errors);

        await SignInAsync(page, IntegrationTests.Infrastructure.GatewayFactory.AdminKey);
        await page.FillAsync("#account-search", name);
        await page.PressAsync("#account-search", "Enter");
        // The list that answers this search (the first list may still be replaced under the pointer otherwise).
        var entry = page.Locator($"#account-list[data-search='{name}'] button", new PageLocatorOptions { HasText = name });
        await entry.ClickAsync(new LocatorClickOptions { Timeout = WaitMs });

        Assert.Equal(await f.AvailableAsync(key), await ShownAvailableAsync(page));
        Assert.Contains(name, await page.TextContentAsync("#who-text"));
        Assert.True(await page.IsHiddenAsync("#estimate-card"));
        await page.Locator($"#usage-table tbody tr[data-request-id='{requestId}']").WaitForAsync(new LocatorWaitForOptions { Timeout = WaitMs });
        await ScreenshotAsync(page, "dashboard-operator.png");
        var download = await page.RunAndWaitForDownloadAsync(() => page.ClickAsync("#usage-export"));
        Assert.Equal($"usage-{name}.csv", download.SuggestedFilename);
        var lines = await File.ReadAllLinesAsync((await download.PathAsync())!);
        Assert.StartsWith("started_at,request_id,", lines[0]);
        Assert.Contains(requestId, Assert.Single(lines.Skip(1)));
        Assert.Empty(errors);
    }

    [Fact]
    public async Task EstimateBox_ChatBody_ShowsTokensAndCredits()
    {
        var (_, key) = await f.Gateway.CreateAccountWithKeyAsync("estimate", 10);
        var errors = new List<string>();
        var page = await f.NewPageAsync(errors);
        await SignInAsync(page, key);
        await ShownAvailableAsync(page);

        await page.ClickAsync("#estimate-form button[type=submit]");

        var result = page.Locator("#estimate-result");
        await result.WaitForAsync(new LocatorWaitForOptions { Timeout = WaitMs });
        Assert.Matches(@"About [0-9.]+ credits for gpt-4o: \d+ input tokens and up to 100 output tokens\. You have 10 available\.",
            await result.TextContentAsync());
        Assert.Empty(errors);
    }
}
