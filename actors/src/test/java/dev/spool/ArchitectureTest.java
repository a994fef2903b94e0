package dev.spool;

import static com.tngtech.archunit.base.DescribedPredicate.not;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.type;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.fields;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.methods;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaField;
import com.tngtech.archunit.core.domain.JavaMethod;
import com.tngtech.archunit.core.domain.JavaMethodCall;
import com.tngtech.archunit.core.domain.JavaType;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchCondition;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.ConditionEvents;
import com.tngtech.archunit.lang.SimpleConditionEvent;
import com.tngtech.archunit.library.dependencies.SliceAssignment;
import com.tngtech.archunit.library.dependencies.SliceIdentifier;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.apache.pekko.actor.Scheduler;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * The engine's layering, checked on its compiled classes: the facade ({@link Spool} and its
 * handles) sits on the actors, the actors on the plain classes, and all of them on the API's
 * values (settings, messages, figures, errors) in {@code dev.spool}, with no way back.
 */
@AnalyzeClasses(packages = "dev.spool", importOptions = ImportOption.DoNotIncludeTests.class)
class ArchitectureTest {

  /**
   * The classes of {@code dev.spool} that talk to the actors. The rest of the package is the API's
   * values, which the engine's packages use; the facade uses the engine, so it is a layer of its own.
   */
  private static final Set<String> FACADE = Set.of("Spool", "SpoolExtension", "QueuePublisher", "QueueConsumer",
      "ConsumerStream", "ReplyInbox");

  /** The packages of plain classes: computation driven on an actor's thread, no actor of their own. */
  private static final String[] PLAIN = {"dev.spool.log..", "dev.spool.queue..", "dev.spool.consumer.."};

  /**
   * Each package is a slice, and {@code dev.spool} is two: its facade and its values. Packages
   * alone would see a cycle through {@code dev.spool} (the values are used by every package and
   * the facade uses the actors) that is a layering, not a tangle.
   */
  private static final SliceAssignment LAYERS = new SliceAssignment() {
    @Override
    public SliceIdentifier getIdentifierOf(JavaClass javaClass) {
      String pkg = javaClass.getPackageName();
      if (pkg.equals("dev.spool")) {
        String top = javaClass.getName().substring("dev.spool.".length()).split("\\$")[0];
        return SliceIdentifier.of(FACADE.contains(top) ? "facade" : "api values");
      }
      return pkg.startsWith("dev.spool.") ? SliceIdentifier.of(pkg) : SliceIdentifier.ignore();
    }

    @Override
    public String getDescription() {
      return "the packages of dev.spool, with its facade apart from its values";
    }
  };

  @ArchTest
  static final ArchRule packagesAreFreeOfCycles = slices().assignedFrom(LAYERS).should().beFreeOfCycles();

  @ArchTest
  static final ArchRule engineDoesNotUseTheFacade = noClasses()
      .that().resideOutsideOfPackage("dev.spool")
      .should().dependOnClassesThat(facade())
      .because("the facade asks the actors; an actor that called back into Spool would tie the two in a cycle");

  @ArchTest
  static final ArchRule publicApiReturnsNoActorType = methods()
      .that().arePublic()
      .and().areDeclaredInClassesThat().resideInAPackage("dev.spool")
      .and().areDeclaredInClassesThat().arePublic()
      .and().doNotHaveFullName("dev.spool.Spool.queueManager()")
      .should(nameNoTypeOf("dev.spool.actor.."))
      .because("the API is dev.spool's; only Spool.queueManager() hands out the manager, for actor users");

  @ArchTest
  static final ArchRule publicApiFieldsHaveNoActorType = fields()
      .that().arePublic()
      .and().areDeclaredInClassesThat().resideInAPackage("dev.spool")
      .should(haveNoTypeOf("dev.spool.actor.."))
      .allowEmptyShould(true);

  @ArchTest
  static final ArchRule consumersReadTheLogOnlyThroughItsView = noClasses()
      .that().resideInAPackage("dev.spool.consumer..")
      .or().haveFullyQualifiedName("dev.spool.actor.ConsumerActor")
      .should().dependOnClassesThat().haveFullyQualifiedName("dev.spool.log.SegmentedLog")
      .because("the queue is the log's only writer: its consumers get the read-only LogView");

  @ArchTest
  static final ArchRule plainClassesUseNoActorApi = noClasses()
      .that().resideInAnyPackage(PLAIN)
      .should().dependOnClassesThat(resideInAPackage("org.apache.pekko.actor..")
          .and(not(type(ActorRef.class))).and(not(type(Scheduler.class))))
      .allowEmptyShould(true)
      .because("plain classes are driven on their actor's thread: they may keep a reply's ActorRef as data "
          + "(GroupCommit keeps its requests' replyTo) and hand a Scheduler to Pekko's CircuitBreaker, "
          + "but use no actor API");

  @ArchTest
  static final ArchRule plainClassesTellAndScheduleNothing = noClasses()
      .that().resideInAnyPackage(PLAIN)
      .should().callMethodWhere(tellOrSchedule())
      .allowEmptyShould(true)
      .because("the actor sends and owns the timers; a plain class returns what to send and when");

  private static DescribedPredicate<JavaClass> facade() {
    return DescribedPredicate.describe("are the facade " + FACADE,
        c -> c.getPackageName().equals("dev.spool")
            && FACADE.contains(c.getName().substring("dev.spool.".length()).split("\\$")[0]));
  }

  private static DescribedPredicate<JavaMethodCall> tellOrSchedule() {
    return DescribedPredicate.describe("tell an ActorRef or schedule on a Scheduler", call ->
        call.getTargetOwner().isAssignableTo(ActorRef.class) && call.getName().equals("tell")
            || call.getTargetOwner().isAssignableTo(Scheduler.class) && call.getName().startsWith("schedule"));
  }

  private static ArchCondition<JavaMethod> nameNoTypeOf(String packageIdentifier) {
    return new ArchCondition<>("name no type of " + packageIdentifier + " in their return or parameter types") {
      @Override
      public void check(JavaMethod method, ConditionEvents events) {
        List<JavaType> named = new ArrayList<>();
        named.add(method.getReturnType());
        named.addAll(method.getParameterTypes());
        for (JavaType t : named) {
          for (JavaClass raw : t.getAllInvolvedRawTypes()) {
            if (raw.getPackage().getName().startsWith(packageIdentifier.replace("..", ""))) {
              events.add(SimpleConditionEvent.violated(method,
                  method.getFullName() + " names " + raw.getName() + " (in " + t.getName() + ")"));
            }
          }
        }
      }
    };
  }

  private static ArchCondition<JavaField> haveNoTypeOf(String packageIdentifier) {
    return new ArchCondition<>("have no type of " + packageIdentifier) {
      @Override
      public void check(JavaField field, ConditionEvents events) {
        for (JavaClass raw : field.getType().getAllInvolvedRawTypes()) {
          if (raw.getPackage().getName().startsWith(packageIdentifier.replace("..", ""))) {
            events.add(SimpleConditionEvent.violated(field, field.getFullName() + " is a " + raw.getName()));
          }
        }
      }
    };
  }
}
