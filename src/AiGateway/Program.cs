using AiGateway.Accounts;
using AiGateway.Api;
using AiGateway.Hosting;
using AiGateway.Ledger;
using AiGateway.Proxy;

var builder = WebApplication.CreateBuilder(args);
builder.AddGatewayConfiguration(args).AddGatewayLogging();
builder.Services.AddGatewayHosting(builder.Configuration);
builder.Services.AddLedgerStorage(builder.Configuration);
builder.Services.AddGatewayAccounts();
builder.Services.AddGatewayProxy(builder.Configuration);

var app = builder.Build();
await app.InitializeLedgerAsync();
app.UseMiddleware<RequestIdMiddleware>();
app.MapHealthEndpoints();
app.MapAdminApi();
app.MapGatewayProxy();
app.LogStartupHelp();
app.Run();

/// <summary>Entry point; public so integration tests can host it with WebApplicationFactory.</summary>
public partial class Program;
