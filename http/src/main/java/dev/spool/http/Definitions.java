package dev.spool.http;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigRenderOptions;
import dev.spool.ConsumerInfo;
import dev.spool.ConsumerSettings;
import dev.spool.Created;
import dev.spool.Names;
import dev.spool.QueueInfo;
import dev.spool.QueueSettings;
import dev.spool.Spool;
import dev.spool.SpoolException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Queue and consumer definitions as one document, in the wire form of {@code PUT /queues/{q}} and
 * {@code PUT /queues/{q}/consumers/{c}}: exported from a running service, kept under version
 * control, imported into another ({@code GET} and {@code POST /api/v1/definitions}) or declared in
 * {@code spool.definitions} and applied at start.
 *
 * <p>An import is checked whole first: a document with a bad name, setting or duplicate changes
 * nothing. Then each definition is declared in turn, idempotently (equal settings are left as
 * they are); one that conflicts with what exists is reported and the others still apply.
 * Dead-letter queues are declared before the queues that name them.
 */
final class Definitions {

  private static final Logger log = LoggerFactory.getLogger(Definitions.class);

  private Definitions() {}

  /** Queues and consumers; either list may be absent. */
  record Document(List<QueueDefinition> queues, List<ConsumerDefinition> consumers) {
    Document {
      queues = queues == null ? List.of() : List.copyOf(queues);
      consumers = consumers == null ? List.of() : List.copyOf(consumers);
      Set<String> names = new HashSet<>();
      for (QueueDefinition q : queues) {
        if (!names.add(q.name())) {
          throw Requests.invalid("queues", "defines queue '" + q.name() + "' twice");
        }
      }
      Set<String> consumerNames = new HashSet<>();
      for (ConsumerDefinition c : consumers) {
        if (!consumerNames.add(c.queue() + '\0' + c.name())) {
          throw Requests.invalid("consumers", "defines consumer '" + c.name() + "' of queue '" + c.queue() + "' twice");
        }
      }
    }
  }

  /** A queue: its name and its settings as {@code PUT /queues/{q}} takes them, checked as the document is read. */
  record QueueDefinition(String name, Requests.QueueBody settings) {
    QueueDefinition {
      if (name == null) {
        throw Requests.invalid("queues[].name", "is required");
      }
      Names.requireValid("queue", name);
      settings = settings == null ? new Requests.QueueBody(null, null, null, null, null, null, null, null, null, null,
          null) : settings;
      settings.toSettings(); // checked now: a bad setting refuses the whole document
    }

    QueueSettings resolved() {
      return settings.toSettings();
    }
  }

  /** A consumer: its queue, name and settings as {@code PUT /queues/{q}/consumers/{c}} takes them. */
  record ConsumerDefinition(String queue, String name, Requests.ConsumerBody settings) {
    ConsumerDefinition {
      if (queue == null || name == null) {
        throw Requests.invalid("consumers[]", "needs a queue and a name");
      }
      Names.requireValid("queue", queue);
      Names.requireValid("consumer", name);
      settings = settings == null ? new Requests.ConsumerBody(null, null, null, null, null, null, null, null)
          : settings;
      settings.toSettings(name);
    }
  }

  /** What an import did: the definitions created, those already there as defined, and those refused. */
  record Report(List<String> created, List<String> unchanged, List<Refusal> refused) {}

  /** A definition that was not applied, with the error it met. */
  record Refusal(String definition, String error, String message) {}

  /** The whole service's definitions: every queue and every consumer, sorted by name. */
  static CompletionStage<Document> export(Spool spool) {
    return spool.listQueues().thenCompose(queues -> {
      List<QueueInfo> sorted = queues.stream().sorted(Comparator.comparing(QueueInfo::name)).toList();
      List<CompletableFuture<List<ConsumerInfo>>> consumers = sorted.stream()
          .map(q -> spool.listConsumers(q.name()).toCompletableFuture()).toList();
      return CompletableFuture.allOf(consumers.toArray(CompletableFuture[]::new)).thenApply(done -> {
        List<QueueDefinition> queueDefinitions = sorted.stream()
            .map(q -> new QueueDefinition(q.name(), body(Views.QueueSettingsView.of(q.settings())))).toList();
        List<ConsumerDefinition> consumerDefinitions = new ArrayList<>();
        for (CompletableFuture<List<ConsumerInfo>> list : consumers) {
          for (ConsumerInfo c : list.getNow(List.of())) {
            consumerDefinitions.add(new ConsumerDefinition(c.queue(), c.name(),
                body(Views.ConsumerSettingsView.of(c.settings()))));
          }
        }
        return new Document(queueDefinitions, consumerDefinitions);
      });
    });
  }

  /** A view read back as the body that declares it: the view is the body's wire form. */
  private static Requests.QueueBody body(Views.QueueSettingsView view) {
    return Json.read(Json.write(view), Requests.QueueBody.class);
  }

  private static Requests.ConsumerBody body(Views.ConsumerSettingsView view) {
    return Json.read(Json.write(view), Requests.ConsumerBody.class);
  }

  /** Declares every definition of {@code document} in turn; never fails, the report says what was refused. */
  static CompletionStage<Report> apply(Spool spool, Document document) {
    List<String> created = new ArrayList<>();
    List<String> unchanged = new ArrayList<>();
    List<Refusal> refused = new ArrayList<>();
    CompletionStage<Void> chain = CompletableFuture.completedFuture(null);
    for (QueueDefinition q : inDeclarationOrder(document.queues())) {
      chain = chain.thenCompose(done -> declare("queue " + q.name(),
          () -> spool.declareQueue(q.name(), q.resolved()), created, unchanged, refused));
    }
    for (ConsumerDefinition c : document.consumers()) {
      ConsumerSettings settings = c.settings().toSettings(c.name());
      chain = chain.thenCompose(done -> declare("consumer " + c.name() + " of queue " + c.queue(),
          () -> spool.declareConsumer(c.queue(), settings), created, unchanged, refused));
    }
    return chain.thenApply(done -> new Report(created, unchanged, refused));
  }

  /** Dead-letter queues first: a queue is declared after every queue it dead-letters to. */
  private static List<QueueDefinition> inDeclarationOrder(List<QueueDefinition> queues) {
    Set<String> targets = new HashSet<>();
    for (QueueDefinition q : queues) {
      if (q.resolved().deadLetter() != null) {
        targets.add(q.resolved().deadLetter().queue());
      }
    }
    List<QueueDefinition> ordered = new ArrayList<>();
    queues.stream().filter(q -> targets.contains(q.name())).forEach(ordered::add);
    queues.stream().filter(q -> !targets.contains(q.name())).forEach(ordered::add);
    return ordered;
  }

  private static CompletionStage<Void> declare(String what, Supplier<CompletionStage<? extends Created<?>>> declare,
      List<String> created, List<String> unchanged, List<Refusal> refused) {
    CompletionStage<? extends Created<?>> stage;
    try {
      stage = declare.get();
    } catch (SpoolException e) {
      stage = CompletableFuture.failedFuture(e);
    }
    return stage.handle((result, failure) -> {
      if (failure == null) {
        (result.created() ? created : unchanged).add(what);
      } else {
        Throwable cause = failure instanceof CompletionException && failure.getCause() != null
            ? failure.getCause() : failure;
        String code = cause instanceof SpoolException se ? se.code().name() : "Internal";
        refused.add(new Refusal(what, code, cause.getMessage()));
      }
      return null;
    });
  }

  /**
   * Applies {@code spool.definitions} once the engine is ready (durable queues recovered), logging
   * what it did; a bad block is refused whole with the reason, a conflict is logged and the rest
   * still applies. Never stops the service.
   */
  static void applyAtStart(Spool spool, Config config) {
    if (!config.hasPath("spool.definitions")) {
      return;
    }
    Document document;
    try {
      String json = config.getConfig("spool.definitions").root().render(ConfigRenderOptions.concise());
      document = Json.read(json.getBytes(StandardCharsets.UTF_8), Document.class);
    } catch (SpoolException e) {
      log.error("spool.definitions not applied: {}", e.getMessage());
      return;
    }
    if (document.queues().isEmpty() && document.consumers().isEmpty()) {
      return;
    }
    spool.ready().thenCompose(ready -> apply(spool, document)).whenComplete((report, failure) -> {
      if (failure != null) {
        log.warn("spool.definitions not applied: {}", failure.getMessage());
        return;
      }
      log.info("spool.definitions applied: {} created, {} already as defined, {} refused", report.created().size(),
          report.unchanged().size(), report.refused().size());
      for (Refusal r : report.refused()) {
        log.warn("spool.definitions: {} refused: {}: {}", r.definition(), r.error(), r.message());
      }
    });
  }
}
