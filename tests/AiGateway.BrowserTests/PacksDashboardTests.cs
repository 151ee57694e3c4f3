using Microsoft.Playwright;

namespace AiGateway.BrowserTests;

/// <summary>The user page lists the top-up packs of config/packs.json (display only) in headless Chromium.</summary>
public sealed class PacksDashboardTests(BrowserFixture f) : IClassFixture<BrowserFixture>
{
    private const int WaitMs = 15_000;

    [Fact]
    public async Task UserPage_ShowsEveryCatalogPackWithCreditsValidityAndPrice()
    {
        var (_, key) = await f.Gateway.CreateAccountWithKeyAsync("packs-view", 10);
        var errors = new List<string>();
        var page = await f.NewPageAsync(errors);

        await page.GotoAsync("/dashboard/");
        await page.FillAsync("#key", key);
        await page.PressAsync("#key", "Enter");
        await page.Locator("#packs-card").WaitForAsync(new LocatorWaitForOptions { Timeout = WaitMs });

        var rows = page.Locator("#packs-table tbody tr");
        Assert.Equal(3, await rows.CountAsync());
        Assert.Equal(["topup-small", "topup-medium", "topup-large"],
            await rows.EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.pack)"));
        var first = await rows.First.Locator("td").AllTextContentsAsync();
        Assert.Equal("Top-up 500", first[0]);
        Assert.Equal("500", first[1]);
        Assert.Equal("90 days", first[2]);
        Assert.Contains("5", first[3]);
        Assert.Empty(errors);
    }
}
