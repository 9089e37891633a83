#include "relais/core/permanence_settings.hpp"

namespace relais::core {

std::vector<emergency_number> default_emergency_numbers(const std::string& country) {
  // The numbers of issue 7, free and answering around the clock unless the label says
  // otherwise; labels stay within PROTOCOL.md §6.4 (128 bytes).
  if (country == "FR") {
    return {
        {"112", "Urgences, numéro européen", "Emergency, European number", false},
        {"15", "SAMU, urgences médicales", "Medical emergencies", false},
        {"3114", "Prévention du suicide, 24h/24", "Suicide prevention, 24/7", false},
        {"119", "Enfance en danger", "Children at risk", false},
        {"3919", "Violences Femmes Info", "Violence against women helpline", false},
        {"114", "Urgences pour personnes sourdes ou malentendantes, par SMS",
         "Emergency for deaf or hard-of-hearing people, by SMS", true},
    };
  }
  if (country == "BE") {
    return {
        {"112", "Urgences", "Emergency", false},
        {"107", "Télé-Accueil, écoute 24h/24", "Télé-Accueil listening line, 24/7", false},
        {"0800 32 123", "Centre de prévention du suicide", "Suicide prevention centre", false},
    };
  }
  return {};
}

}  // namespace relais::core
