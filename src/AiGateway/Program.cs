using AiGateway.Accounts;
using AiGateway.Api;
using AiGateway.Dashboard;
using AiGateway.History;
using AiGateway.Hosting;
using AiGateway.Ledger;
using AiGateway.Metering;
using AiGateway.Notifications;
using AiGateway.Packs;
using AiGateway.Pricing;
using AiGateway.Proxy;
using AiGateway.Storage;
using AiGateway.Telemetry;
using AiGateway.Unified;

if (HealthCheckCommand.IsRequested(args)) return await HealthCheckCommand.RunAsync(args[1]);
if (SchemaCommand.IsRequested(args)) return SchemaCommand.Run(args[1]);
if (ArchiveCommand.IsRequested(args)) return await ArchiveCommand.RunAsync(args, Console.Out, Console.Error);

var builder = GatewayConfigurationExtensions.CreateGatewayBuilder(args);
builder.AddGatewayConfiguration(args).AddGatewayLogging();
builder.Services.AddGatewayHosting(builder.Configuration);
builder.Services.AddGatewayApi();
builder.Services.AddLedgerStorage(builder.Configuration);
builder.Services.AddLedger(builder.Configuration);
builder.Services.AddHistory();
builder.Services.AddPricing();
builder.Services.AddGatewayAccounts();
builder.Services.AddMetering();
builder.Services.AddPacks();
builder.Services.AddNotifications();
builder.Services.AddGatewayProxy(builder.Configuration);
builder.Services.AddUnifiedEndpoint();
builder.Services.AddGatewayTelemetry(builder.Configuration);

var app = builder.Build();
await app.InitializeLedgerAsync();
app.UseMiddleware<RequestIdMiddleware>();
app.UseApiErrorBodies();
app.MapHealthEndpoints();
app.MapMetricsEndpoint();
app.MapAdminApi();
app.MapUserApi();
app.MapUnifiedApi();
app.MapStripeWebhook();
app.MapApiReference();
app.MapDashboard();
app.MapGatewayProxy();
app.LogStartupHelp();
await app.RunAsync();
return 0;

/// <summary>Entry point; public so integration tests can host it with WebApplicationFactory.</summary>
public partial class Program;
